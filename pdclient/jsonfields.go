package pdclient

// JSONFields and JSONField read the top level of a JSON object without
// decoding it: one pass over the bytes, no maps, no copies. The call path
// uses them where it wants a few fields of a large value (a run's answer, a
// result's ret, a call's arguments).

import (
	"encoding/json"
	"unicode/utf8"
)

// JSONFields calls fn with each top-level key of the JSON object raw (unquoted;
// compare it as string(key) == "name", which does not allocate) and its value
// (raw bytes, a sub-slice of raw) in order, until fn returns false. A key
// given twice is reported twice, so a caller that keeps the last value reads
// what json.Unmarshal into a map would. It reports false when raw is not an
// object; it checks only the structure it walks, so raw should be valid JSON
// (a body json.Valid accepted, or a value cut out of one).
func JSONFields(raw []byte, fn func(key, val []byte) bool) bool {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return true
	}
	for i < len(raw) {
		if raw[i] != '"' {
			return false
		}
		end, escaped := stringEnd(raw, i)
		if end < 0 {
			return false
		}
		key := raw[i+1 : end-1]
		if escaped || !utf8.Valid(key) { // as json.Unmarshal reads it
			var k string
			if json.Unmarshal(raw[i:end], &k) != nil {
				return false
			}
			key = []byte(k)
		}
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return false
		}
		i = skipSpace(raw, i+1)
		vend := valueEnd(raw, i)
		if vend < 0 {
			return false
		}
		if !fn(key, raw[i:vend]) {
			return true
		}
		i = skipSpace(raw, vend)
		if i >= len(raw) {
			return false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			return true
		default:
			return false
		}
	}
	return false
}

// JSONField is the value of the last top-level key of raw named key (nil when
// absent or when raw is not an object).
func JSONField(raw []byte, key string) []byte {
	var out []byte
	JSONFields(raw, func(k, v []byte) bool {
		if string(k) == key {
			out = v
		}
		return true
	})
	return out
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index after the closing quote of the string starting
// at b[i] (a quote), and whether it holds an escape; -1 when it does not end.
func stringEnd(b []byte, i int) (int, bool) {
	escaped := false
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped
		}
	}
	return -1, escaped
}

// valueEnd returns the index after the JSON value starting at b[i]; -1 when
// it does not end.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := stringEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := stringEnd(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
	scan:
		for ; j < len(b); j++ {
			switch b[j] {
			case ' ', '\t', '\r', '\n', ',', '}', ']':
				break scan
			}
		}
		if j == i {
			return -1
		}
		return j
	}
}
