package pdtest

// This file owns the EndlessPages fault: list pages of generated items whose
// end_cursor never runs out.

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// endlessCursorPrefix marks the cursors of endless pages; the rest of the
// cursor is the index of the next item.
const endlessCursorPrefix = "endless:"

// writeEndlessPage answers a list request with a full page of generated items
// and a cursor to a next page that always exists (the EndlessPages fault). It
// reports false, leaving the request to the normal handler, for endpoints
// that are not lists.
func (f *Fake) writeEndlessPage(w http.ResponseWriter, r *http.Request, endpoint string, itemBytes int) bool {
	item := endlessItem(endpoint)
	if item == nil {
		return false
	}
	limit, err := f.parseLimit(r)
	if err != nil || limit == 0 {
		limit = f.cfg.PageSize
	}
	start := endlessStart(r.URL.Query().Get("after"))
	pad := strings.Repeat("x", max(itemBytes, 0))
	data := make([]map[string]any, 0, limit)
	for i := start; i < start+limit; i++ {
		data = append(data, item(i, pad, r.URL.Query()))
	}
	next := start + limit
	info := pageInfo{
		Count:       len(data),
		TotalCount:  next + 1, // always one more than served so far
		StartCursor: cursor(endlessCursorPrefix + strconv.Itoa(start)),
		EndCursor:   cursor(endlessCursorPrefix + strconv.Itoa(next)),
	}
	writeJSON(w, http.StatusOK, map[string]any{"page_info": info, "data": data})
	return true
}

// endlessStart is the index of the first item after cursor (0 for none or a
// cursor that is not an endless one).
func endlessStart(after string) int {
	k, err := base64.RawURLEncoding.DecodeString(after)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(k), endlessCursorPrefix))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// endlessItem returns the generator of the i-th item of an endless list of
// endpoint, padded with pad; nil for an endpoint that is not a list.
func endlessItem(endpoint string) func(i int, pad string, q map[string][]string) map[string]any {
	switch endpoint {
	case EndpointActions:
		return func(i int, pad string, q map[string][]string) map[string]any {
			app := firstOr(q["app"], "endless")
			return map[string]any{
				"key":                fmt.Sprintf("%s-endless-%d", app, i),
				"name":               fmt.Sprintf("Endless %d", i),
				"version":            "0.0.1",
				"component_type":     "action",
				"description":        pad,
				"configurable_props": []any{},
			}
		}
	case EndpointAccounts:
		return func(i int, pad string, q map[string][]string) map[string]any {
			return map[string]any{
				"id":          fmt.Sprintf("apn_endless%d", i),
				"name":        pad,
				"external_id": firstOr(q["external_user_id"], ""),
				"healthy":     true,
				"dead":        false,
				"app":         map[string]any{"name_slug": firstOr(q["app"], "endless")},
			}
		}
	case EndpointApps:
		return func(i int, pad string, _ map[string][]string) map[string]any {
			return map[string]any{
				"id":          fmt.Sprintf("app_endless%d", i),
				"name_slug":   fmt.Sprintf("endless_%d", i),
				"name":        fmt.Sprintf("Endless %d", i),
				"description": pad,
			}
		}
	}
	return nil
}

// firstOr is vs[0], or def when vs is empty.
func firstOr(vs []string, def string) string {
	if len(vs) == 0 {
		return def
	}
	return vs[0]
}
