package pdclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// The API's shapes drift between versions (connect-api.md section 13.3); the
// helpers here accept every form seen so far.

// unwrapData returns the object under "data" when raw is an object whose
// "data" is an object ({"data": {...}}), and raw itself otherwise.
func unwrapData(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return raw
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	if d, ok := m["data"]; ok {
		if d = bytes.TrimSpace(d); len(d) > 0 && d[0] == '{' {
			return d
		}
	}
	return raw
}

// listKeys are the names a list may hide under, in order of preference.
var listKeys = []string{"data", "accounts", "apps", "actions", "components", "items", "results"}

// listPage splits a list response into its items and page info. It accepts a
// bare array, {"data": [...], "page_info": {...}}, {"data": {"accounts": [...]}}
// and {"accounts": [...]}; an empty body, null or a null list has no items.
func listPage(raw json.RawMessage) ([]json.RawMessage, PageInfo, error) {
	var pi PageInfo
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) {
		return nil, pi, nil
	}
	if raw[0] == '{' {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, pi, err
		}
		if p, ok := m["page_info"]; ok && !isNull(p) {
			_ = json.Unmarshal(p, &pi) // a broken page_info just ends the listing
		}
		delete(m, "page_info")
		arr, ok := findList(m, 2)
		if !ok {
			return nil, pi, fmt.Errorf("response has no list")
		}
		raw = arr
	}
	if isNull(raw) {
		return nil, pi, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, pi, fmt.Errorf("list is not an array: %w", err)
	}
	return items, pi, nil
}

// findList finds the array in an object, looking into nested objects up to
// depth levels; a null list counts as found.
func findList(m map[string]json.RawMessage, depth int) (json.RawMessage, bool) {
	for _, k := range listKeys {
		v, ok := m[k]
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case len(v) == 0, isNull(v):
			return json.RawMessage("null"), true
		case v[0] == '[':
			return v, true
		}
	}
	// Any other single array-valued key, then nested objects.
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if v := bytes.TrimSpace(m[k]); len(v) > 0 && v[0] == '[' {
			return v, true
		}
	}
	if depth > 1 {
		for _, k := range keys {
			v := bytes.TrimSpace(m[k])
			if len(v) == 0 || v[0] != '{' {
				continue
			}
			var inner map[string]json.RawMessage
			if json.Unmarshal(v, &inner) == nil {
				if arr, ok := findList(inner, depth-1); ok {
					return arr, true
				}
			}
		}
	}
	return nil, false
}

// decodeItems decodes each item into a T. An item that does not decode is
// left out with a warning naming it, so one bad entry does not hide the rest.
func decodeItems[T any](c *Client, what string, items []json.RawMessage) []T {
	out := make([]T, 0, len(items))
	for i, it := range items {
		var v T
		if err := json.Unmarshal(it, &v); err != nil {
			c.logger.Warn("pipedream: skipping malformed list item",
				slog.String("list", what), slog.Int("index", i), slog.String("error", err.Error()))
			continue
		}
		out = append(out, v)
	}
	return out
}

// object decodes raw as a JSON object of raw values; nil for anything else.
func object(raw json.RawMessage) map[string]json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// rawOrNil returns raw, or nil when it is absent or null.
func rawOrNil(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) {
		return nil
	}
	return append(json.RawMessage(nil), raw...)
}

// rawArray splits a JSON array; nil for anything else.
func rawArray(raw json.RawMessage) []json.RawMessage {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	return items
}

// stringList decodes a list of strings; non-string entries keep their JSON text.
func stringList(raw json.RawMessage) []string {
	items := rawArray(raw)
	if items == nil {
		return nil
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if isNull(it) {
			continue
		}
		var s string
		if json.Unmarshal(it, &s) == nil {
			out = append(out, s)
		} else {
			out = append(out, string(bytes.TrimSpace(it)))
		}
	}
	return out
}

// observations decodes observations one by one; an entry that does not fit
// Observation keeps its k, msg and err as far as they can be read.
func observations(raw json.RawMessage) []Observation {
	items := rawArray(raw)
	if items == nil {
		return nil
	}
	out := make([]Observation, 0, len(items))
	for _, it := range items {
		var o Observation
		if json.Unmarshal(it, &o) == nil {
			out = append(out, o)
			continue
		}
		m := object(it)
		if m == nil {
			continue
		}
		o = Observation{K: text(m["k"]), Msg: text(m["msg"])}
		if e := object(m["err"]); e != nil {
			o.Err = &ObservationError{Name: text(e["name"]), Message: text(e["message"]), Stack: text(e["stack"])}
		} else if s := text(m["err"]); s != "" {
			o.Err = &ObservationError{Message: s}
		}
		out = append(out, o)
	}
	return out
}

// errorMessage reads one entry of an errors[] list: a plain message, or a JSON
// string (or object) {"name", "message"} (also {"title", "detail"}).
func errorMessage(s string) string {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") {
		return s
	}
	m := object(json.RawMessage(s))
	if m == nil {
		return s
	}
	name := firstText(m, "name", "title")
	msg := firstText(m, "message", "detail", "error")
	return joinNameMessage(name, msg, s)
}

// observationMessage is the message of an error observation.
func observationMessage(o Observation) string {
	var name, msg string
	if o.Err != nil {
		name, msg = o.Err.Name, o.Err.Message
	}
	if msg == "" {
		msg = o.Msg
	}
	return joinNameMessage(name, msg, "action failed")
}

func joinNameMessage(name, msg, fallback string) string {
	name, msg = strings.TrimSpace(name), strings.TrimSpace(msg)
	switch {
	case msg == "" && name == "":
		return fallback
	case msg == "":
		return name
	case name == "" || name == "Error" || strings.HasPrefix(msg, name+":"):
		return msg
	}
	return name + ": " + msg
}
