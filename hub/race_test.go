//go:build race

package hub

// raceEnabled: timings are meaningless under the race detector.
const raceEnabled = true
