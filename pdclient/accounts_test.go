package pdclient

import (
	"errors"
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func accountIDs(accts []Account) []string {
	out := make([]string, len(accts))
	for i, a := range accts {
		out[i] = a.ID
	}
	return out
}

func TestListAccountsShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		pages []string // by after: "", "p2"
		want  []string
	}{
		{name: "data list over two pages", pages: []string{
			`{"data":[{"id":"apn_1","name":null,"healthy":true,"app":{"id":"app_1","name":"Slack"}}],"page_info":{"end_cursor":"p2"}}`,
			`{"data":[{"id":"apn_2","healthy":false,"dead":null,"error":null}],"page_info":{"end_cursor":null}}`,
		}, want: []string{"apn_1", "apn_2"}},
		{name: "data.accounts (old docs)", pages: []string{
			`{"page_info":{"total_count":2},"data":{"accounts":[{"id":"apn_1"},{"id":"apn_2"}]}}`,
		}, want: []string{"apn_1", "apn_2"}},
		{name: "bare array", pages: []string{`[{"id":"apn_3"}]`}, want: []string{"apn_3"}},
		{name: "none", pages: []string{`{"data":[],"page_info":{"count":0}}`}, want: []string{}},
		{name: "null data", pages: []string{`{"data":null}`}, want: []string{}},
		{name: "malformed item skipped", pages: []string{`{"data":[{"id":"apn_1"},"junk",{"id":"apn_2"}]}`}, want: []string{"apn_1", "apn_2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.handle("GET /v1/connect/proj_test1/accounts", func(w http.ResponseWriter, r *http.Request) {
				q := r.URL.Query()
				if q.Get("external_user_id") != "user-1" || q.Get("app") != "slack" || q.Get("limit") != "100" || q.Has("include_credentials") {
					t.Errorf("query = %q", r.URL.RawQuery)
				}
				page := 0
				if q.Get("after") == "p2" {
					page = 1
				}
				writeJSON(w, 200, tt.pages[page])
			})
			got, err := f.client().ListAccounts(t.Context(), "user-1", "slack")
			if err != nil {
				t.Fatal(err)
			}
			if ids := accountIDs(got); !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("ids = %v, want %v", ids, tt.want)
			}
			if got := f.apiCalls.Load(); got != int32(len(tt.pages)) {
				t.Errorf("requests = %d, want %d", got, len(tt.pages))
			}
		})
	}
}

func TestAccountsCache(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	var n atomic.Int32
	f.handle("GET /v1/connect/proj_test1/accounts", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		q := r.URL.Query()
		writeJSON(w, 200, map[string]any{"data": []any{map[string]any{"id": "apn_" + q.Get("external_user_id") + "_" + q.Get("app")}}})
	})
	c := f.client()
	list := func(user, app string) {
		t.Helper()
		got, err := c.ListAccounts(t.Context(), user, app)
		if err != nil {
			t.Fatal(err)
		}
		if want := "apn_" + user + "_" + app; len(got) != 1 || got[0].ID != want {
			t.Fatalf("ListAccounts(%s, %s) = %v", user, app, accountIDs(got))
		}
	}
	expect := func(want int32, after string) {
		t.Helper()
		if got := n.Load(); got != want {
			t.Fatalf("%s: requests = %d, want %d", after, got, want)
		}
	}
	list("u1", "slack")
	list("u1", "slack")
	expect(1, "second call")
	list("u1", "github")
	list("u1", "")
	list("u2", "slack")
	expect(4, "other apps and users")

	c.InvalidateAccounts("u1", "slack")
	list("u1", "slack") // dropped
	list("u1", "")      // the all-apps list holds slack too: dropped
	list("u1", "github")
	list("u2", "slack")
	expect(6, "InvalidateAccounts(u1, slack)")

	c.InvalidateAccounts("u1", "")
	list("u1", "slack")
	list("u1", "github")
	list("u2", "slack") // another user: still cached
	expect(8, `InvalidateAccounts(u1, "")`)
}

func TestAccountsCacheExpires(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.handle("GET /v1/connect/proj_test1/accounts", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"data":[{"id":"apn_1"}]}`)
	})
	cfg := f.config()
	cfg.AccountsTTL = 40 * time.Millisecond
	c, err := New(cfg, f.inMemory())
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) { // the TTL runs on the bubble's fake clock
		list := func() {
			t.Helper()
			if _, err := c.ListAccounts(t.Context(), "u", "slack"); err != nil {
				t.Fatal(err)
			}
		}
		list()
		list()
		time.Sleep(39 * time.Millisecond)
		list()
		if got := f.apiCalls.Load(); got != 1 {
			t.Errorf("requests within the TTL = %d, want 1", got)
		}
		time.Sleep(31 * time.Millisecond) // 70ms after the fetch
		list()
		if got := f.apiCalls.Load(); got != 2 {
			t.Errorf("requests = %d, want 2", got)
		}
	})
}

// TestInvalidationDuringFetch checks that a list fetched before an
// invalidation is not cached after it.
func TestInvalidationDuringFetch(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	gate := make(chan struct{})
	var n atomic.Int32
	started := make(chan struct{})
	f.handle("GET /v1/connect/proj_test1/accounts", func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			close(started)
			<-gate
			writeJSON(w, 200, `{"data":[]}`)
			return
		}
		writeJSON(w, 200, `{"data":[{"id":"apn_new"}]}`)
	})
	c := f.client()
	done := make(chan []Account, 1)
	go func() {
		got, err := c.ListAccounts(t.Context(), "u", "slack")
		if err != nil {
			t.Error(err)
		}
		done <- got
	}()
	<-started // the first fetch is at the API, held by the gate
	// The user just connected an account.
	c.InvalidateAccounts("u", "slack")
	close(gate)
	if got := <-done; len(got) != 0 {
		t.Errorf("first call = %v", accountIDs(got))
	}
	got, err := c.ListAccounts(t.Context(), "u", "slack")
	if err != nil {
		t.Fatal(err)
	}
	if ids := accountIDs(got); !reflect.DeepEqual(ids, []string{"apn_new"}) {
		t.Errorf("after invalidation = %v, want the new account (the stale list must not be cached)", ids)
	}
}

func TestGetAccount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		status     int
		wantErr    error
	}{
		{name: "bare", status: 200, body: `{"id":"apn_1","name":"Work","healthy":true,"app":{"name_slug":"slack","name":"Slack"},"created_at":"2024-07-30T22:52:48.000Z"}`},
		{name: "data wrapped", status: 200, body: `{"data":{"id":"apn_1","name":"Work","healthy":true,"app":{"name_slug":"slack","name":"Slack"},"created_at":"2024-07-30T22:52:48.000Z"}}`},
		{name: "not found", status: 404, body: `{"error":"account not found"}`, wantErr: ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.handle("GET /v1/connect/proj_test1/accounts/{id}", func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Has("include_credentials") {
					t.Errorf("credentials asked for")
				}
				writeJSON(w, tt.status, tt.body)
			})
			a, err := f.client().GetAccount(t.Context(), "apn_1")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.ID != "apn_1" || a.Name != "Work" || !a.Healthy || a.AppSlug() != "slack" || a.Created().IsZero() {
				t.Errorf("account = %+v", a)
			}
		})
	}
}
