//go:build race

package strictjson

// raceEnabled: under the race detector sync.Pool drops a quarter of what
// is put in it, at random, so a pooled decoder is sometimes made anew.
const raceEnabled = true
