//go:build !race

package meeting

const raceEnabled = false
