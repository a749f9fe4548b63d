package main

import (
	"bytes"
	"strconv"
)

// topField returns the raw JSON value of key in the top-level object of
// frame, or nil. It walks the top level only and stops at the key, so on a
// "changes" frame it reads "type", "seq" and "opId" and never the (large)
// list of changed values that follows: the generator reads a hundred
// thousand frames a second on the same two cores as the server, and a full
// decode of each would make it the bottleneck. Keys are compared as raw
// bytes (our frames never escape their keys).
func topField(frame []byte, key string) []byte {
	i := skipSpace(frame, 0)
	if i >= len(frame) || frame[i] != '{' {
		return nil
	}
	i++
	for {
		i = skipSpace(frame, i)
		if i >= len(frame) || frame[i] != '"' {
			return nil
		}
		end := skipString(frame, i)
		if end < 0 {
			return nil
		}
		k := frame[i+1 : end-1]
		i = skipSpace(frame, end)
		if i >= len(frame) || frame[i] != ':' {
			return nil
		}
		i = skipSpace(frame, i+1)
		vend := skipValue(frame, i)
		if vend < 0 {
			return nil
		}
		if string(k) == key {
			return frame[i:vend]
		}
		i = skipSpace(frame, vend)
		if i >= len(frame) || frame[i] != ',' {
			return nil
		}
		i++
	}
}

// topString is topField for a string value without escapes (ids, types,
// codes); nil when absent or not such a string.
func topString(frame []byte, key string) []byte {
	v := topField(frame, key)
	if len(v) < 2 || v[0] != '"' || bytes.IndexByte(v, '\\') >= 0 {
		return nil
	}
	return v[1 : len(v)-1]
}

// topUint is topField for an unsigned integer; ok=false when absent.
func topUint(frame []byte, key string) (uint64, bool) {
	v := topField(frame, key)
	if v == nil {
		return 0, false
	}
	n, err := strconv.ParseUint(string(v), 10, 64)
	return n, err == nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i] == '"',
// or -1 when it is not closed.
func skipString(b []byte, i int) int {
	i++
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return -1
		}
		i += j
		// Count the backslashes before the quote: an odd number escapes it.
		bs := 0
		for k := i - 1; k >= 0 && b[k] == '\\'; k-- {
			bs++
		}
		i++
		if bs%2 == 0 {
			return i
		}
	}
}

// skipValue returns the index just past the JSON value starting at b[i], or
// -1 when it is malformed or truncated. It does not validate literals.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				if i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	default:
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\n', '\r', '\t':
				return i
			}
			i++
		}
		return i
	}
}
