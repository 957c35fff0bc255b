package tools

// The structuredContent of every action and workflow call, written by hand:
// the bytes encoding/json would write for Result (same fields, order,
// omissions and string escapes), without reflection, straight into the
// result's RawStructuredContent, so mcp-go sends them as they are instead of
// encoding the struct again.

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// appendJSON appends r as JSON. Ret and the exports' values are appended as
// they are (valid JSON: cut from a body the client validated, or encoded
// here); mcp-go compacts the whole structuredContent when it writes it.
func (r *Result) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"status":`...)
	b = appendJSONString(b, r.Status)
	b = appendStringField(b, "summary", r.Summary)
	b = appendStringField(b, "action", r.Action)
	b = appendStringField(b, "version", r.Version)
	b = appendStringField(b, "app", r.App)
	b = appendStringField(b, "account_id", r.AccountID)
	if len(r.Ret) > 0 {
		b = append(b, `,"ret":`...)
		b = append(b, r.Ret...)
	}
	if len(r.Exports) > 0 {
		b = append(b, `,"exports":{`...)
		keys := make([]string, 0, len(r.Exports))
		for k := range r.Exports {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			if v := r.Exports[k]; len(v) > 0 {
				b = append(b, v...)
			} else {
				b = append(b, "null"...)
			}
		}
		b = append(b, '}')
	}
	b = appendStringsField(b, "errors", r.Errors)
	b = appendStringsField(b, "notes", r.Notes)
	b = appendStringField(b, "connect_url", r.ConnectURL)
	if r.RetryAfterSeconds != 0 {
		b = append(b, `,"retry_after_seconds":`...)
		b = strconv.AppendInt(b, int64(r.RetryAfterSeconds), 10)
	}
	if r.Truncated {
		b = append(b, `,"truncated":true`...)
	}
	b = appendStringField(b, "executed_at", r.ExecutedAt)
	if r.DurationMS != nil {
		b = append(b, `,"duration_ms":`...)
		b = strconv.AppendInt(b, *r.DurationMS, 10)
	}
	var err error
	if r.Resource != nil {
		b, err = appendMarshaled(b, "resource", r.Resource)
	}
	if r.HTTPStatus != 0 {
		b = append(b, `,"http_status":`...)
		b = strconv.AppendInt(b, int64(r.HTTPStatus), 10)
	}
	if len(r.Headers) > 0 && err == nil {
		b, err = appendMarshaled(b, "headers", r.Headers)
	}
	b = appendStringField(b, "stash_id", r.StashID)
	if len(r.Files) > 0 && err == nil {
		b, err = appendMarshaled(b, "files", r.Files)
	}
	return append(b, '}'), err
}

func appendStringField(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendJSONString(b, v)
}

func appendStringsField(b []byte, key string, v []string) []byte {
	if len(v) == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":[`...)
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendMarshaled appends a field encoding/json writes (the rare ones).
func appendMarshaled(b []byte, key string, v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return append(b, j...), nil
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string the way encoding/json does:
// HTML characters, U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
