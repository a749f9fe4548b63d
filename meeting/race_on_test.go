//go:build race

package meeting

// raceEnabled scales the longest tests down under the race detector, which
// slows the pure domain code ten times while finding nothing more in it (no
// goroutines).
const raceEnabled = true
