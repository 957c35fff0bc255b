package pdclient

import (
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
)

// apiPages serves n items of item(i) in pages of size (whatever limit asks),
// as the API does: every page with items carries an end_cursor, the last one
// too; total_count only when withTotal. It counts the requests in reqs.
func apiPages(t *testing.T, n, size int, withTotal bool, item func(i int) map[string]any, reqs *atomic.Int32) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		reqs.Add(1)
		off := 0
		if after := r.URL.Query().Get("after"); after != "" {
			var err error
			if off, err = strconv.Atoi(after); err != nil {
				t.Errorf("cursor %q", after)
			}
		}
		end := min(off+size, n)
		data := []map[string]any{}
		for i := off; i < end; i++ {
			data = append(data, item(i))
		}
		pi := map[string]any{"count": len(data), "end_cursor": nil}
		if len(data) > 0 {
			pi["end_cursor"] = strconv.Itoa(end)
		}
		if withTotal {
			pi["total_count"] = n
		}
		writeJSON(w, 200, map[string]any{"data": data, "page_info": pi})
	}
}

// TestListingStopsAtTotalCount: a listing stops as soon as it has
// page_info.total_count items, without asking for the empty page after the
// last one; without total_count, an empty page still ends it. Actions and
// accounts share the rule.
func TestListingStopsAtTotalCount(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		n, size   int
		withTotal bool
		want      int // list requests
	}{
		{"3 items, total_count", 3, 100, true, 1},
		{"130 items in pages of 100, total_count", 130, 100, true, 2},
		{"130 items in pages of 25, total_count", 130, 25, true, 6},
		{"125 items in pages of 25, total_count", 125, 25, true, 5},
		{"no items, total_count", 0, 100, true, 1},
		{"3 items, no total_count", 3, 100, false, 2},
		{"130 items in pages of 100, no total_count", 130, 100, false, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			t.Run("actions", func(t *testing.T) {
				t.Parallel()
				f := newFake(t)
				var reqs atomic.Int32
				f.handle("GET /v1/connect/proj_test1/actions", apiPages(t, tc.n, tc.size, tc.withTotal, func(i int) map[string]any {
					return fullAction(fmt.Sprintf("slack-action-%d", i))
				}, &reqs))
				got, err := f.client().ListActions(t.Context(), "slack", RegistryPublic)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != tc.n || int(reqs.Load()) != tc.want {
					t.Errorf("%d actions in %d requests, want %d in %d", len(got), reqs.Load(), tc.n, tc.want)
				}
			})
			t.Run("accounts", func(t *testing.T) {
				t.Parallel()
				f := newFake(t)
				var reqs atomic.Int32
				f.handle("GET /v1/connect/proj_test1/accounts", apiPages(t, tc.n, tc.size, tc.withTotal, func(i int) map[string]any {
					return map[string]any{"id": fmt.Sprintf("apn_%d", i), "healthy": true}
				}, &reqs))
				got, err := f.client().ListAccounts(t.Context(), "user-1", "slack")
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != tc.n || int(reqs.Load()) != tc.want {
					t.Errorf("%d accounts in %d requests, want %d in %d", len(got), reqs.Load(), tc.n, tc.want)
				}
			})
		})
	}
}
