package pdclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fullAction is a list item or single read with configurable_props.
func fullAction(key string) map[string]any {
	return map[string]any{
		"key": key, "name": strings.ToUpper(key), "version": "0.1.0",
		"configurable_props": []any{
			map[string]any{"name": "slack", "type": "app", "app": "slack"},
			map[string]any{"name": "text", "type": "string", "label": "Text"},
		},
	}
}

// slimAction is an old-style list item without props.
func slimAction(key string) map[string]any {
	return map[string]any{"key": key, "name": strings.ToUpper(key), "version": "0.1.0"}
}

// pagedActions serves items in pages of size (ignoring limit), with cursors
// "c<offset>"; the last page has the given end cursor form (`""`, null or
// absent).
func pagedActions(t *testing.T, items []map[string]any, size int, lastCursor any, afters *box[[]string]) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("limit") != "100" || q.Get("app") != "slack" {
			t.Errorf("query = %q, want app=slack and limit=100", r.URL.RawQuery)
		}
		after := q.Get("after")
		afters.set(append(afters.get(), after))
		off := 0
		if after != "" {
			if _, err := fmt.Sscanf(after, "c%d", &off); err != nil {
				t.Errorf("cursor %q", after)
			}
		}
		end := min(off+size, len(items))
		pi := map[string]any{"count": end - off, "total_count": len(items)}
		if end < len(items) {
			pi["end_cursor"] = fmt.Sprintf("c%d", end)
		} else if lastCursor != "absent" {
			pi["end_cursor"] = lastCursor
		}
		writeJSON(w, 200, map[string]any{"data": items[off:end], "page_info": pi})
	}
}

func keys(comps []Component) []string {
	out := make([]string, len(comps))
	for i, c := range comps {
		out[i] = c.Key
	}
	return out
}

func TestListActionsPagination(t *testing.T) {
	t.Parallel()
	var items []map[string]any
	var want []string
	for i := range 7 {
		k := fmt.Sprintf("slack-action-%d", i)
		items = append(items, fullAction(k))
		want = append(want, k)
	}
	for _, last := range []any{"", nil, "absent"} {
		t.Run(fmt.Sprintf("last cursor %v", last), func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			var afters box[[]string]
			f.handle("GET /v1/connect/proj_test1/actions", pagedActions(t, items, 3, last, &afters))
			f.handle("GET /v1/connect/proj_test1/actions/{key}", func(w http.ResponseWriter, r *http.Request) {
				t.Errorf("single read of %s, but the list had props", r.PathValue("key"))
			})
			got, err := f.client().ListActions(t.Context(), "slack", RegistryPublic)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(keys(got), want) {
				t.Errorf("keys = %v, want %v", keys(got), want)
			}
			for _, c := range got {
				if !c.PropsLoaded || len(c.ConfigurableProps) != 2 {
					t.Errorf("%s: PropsLoaded %v, %d props", c.Key, c.PropsLoaded, len(c.ConfigurableProps))
				}
			}
			if a := afters.get(); !reflect.DeepEqual(a, []string{"", "c3", "c6"}) {
				t.Errorf("after = %q, want pages at \"\", c3, c6", a)
			}
		})
	}
}

func TestListActionsStopsOnRepeatedCursor(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	var n atomic.Int32
	// A server that ignores after: the same page and cursor every time.
	f.handle("GET /v1/connect/proj_test1/actions", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeJSON(w, 200, map[string]any{
			"data":      []any{fullAction("slack-a"), fullAction("slack-b")},
			"page_info": map[string]any{"end_cursor": "same"},
		})
	})
	got, err := f.client().ListActions(t.Context(), "slack", RegistryPublic)
	if err != nil {
		t.Fatal(err)
	}
	if n.Load() != 2 {
		t.Errorf("list requests = %d, want 2 (stop when the cursor repeats)", n.Load())
	}
	if !reflect.DeepEqual(keys(got), []string{"slack-a", "slack-b"}) {
		t.Errorf("keys = %v, want each action once", keys(got))
	}
}

func TestListActionsFillsSlimItems(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	items := []map[string]any{fullAction("slack-full-1")}
	slim := map[string]bool{}
	for i := range 9 {
		k := fmt.Sprintf("slack-slim-%d", i)
		items = append(items, slimAction(k))
		slim[k] = true
	}
	items = append(items, slimAction("slack-gone"), fullAction("slack-full-2"))
	var afters box[[]string]
	f.handle("GET /v1/connect/proj_test1/actions", pagedActions(t, items, 100, "", &afters))
	var inFlight, maxInFlight atomic.Int32
	var mu sync.Mutex
	read := map[string]int{}
	var gate chan struct{} // made in the bubble: a read held here is durably blocked
	f.handle("GET /v1/connect/proj_test1/actions/{key}", func(w http.ResponseWriter, r *http.Request) {
		key := r.PathValue("key")
		mu.Lock()
		read[key]++
		mu.Unlock()
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxInFlight.Load()
			if cur <= m || maxInFlight.CompareAndSwap(m, cur) {
				break
			}
		}
		<-gate
		if key == "slack-gone" {
			writeJSON(w, 404, `{"error":"not found"}`)
			return
		}
		writeJSON(w, 200, map[string]any{"data": fullAction(key)})
	})
	c := f.client(f.inMemory())
	var got []Component
	synctest.Test(t, func(t *testing.T) {
		gate = make(chan struct{})
		done := make(chan error, 1)
		go func() {
			var err error
			got, err = c.ListActions(t.Context(), "slack", RegistryPublic)
			done <- err
		}()
		// Every single read that may start has started and is held: as many
		// as the limit allows, and no more.
		synctest.Wait()
		if n, reads := inFlight.Load(), len(slim)+1; n != min(fillConcurrency, int32(reads)) {
			t.Errorf("%d single reads at once for %d slim items, want the limit %d", n, reads, fillConcurrency)
		}
		close(gate)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
	if len(got) != len(items) {
		t.Fatalf("got %d actions, want %d", len(got), len(items))
	}
	for i, c := range got {
		if c.Key != items[i]["key"] {
			t.Errorf("[%d] = %s, want the list order", i, c.Key)
		}
		switch {
		case c.Key == "slack-gone":
			if c.PropsError == "" {
				t.Errorf("%s: want PropsError for an action whose read is 404", c.Key)
			}
		case !c.PropsLoaded || len(c.ConfigurableProps) != 2:
			t.Errorf("%s: PropsLoaded %v with %d props", c.Key, c.PropsLoaded, len(c.ConfigurableProps))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for k, n := range read {
		if !slim[k] && k != "slack-gone" {
			t.Errorf("read %s on its own, but it came with props", k)
		}
		if n != 1 {
			t.Errorf("read %s %d times", k, n)
		}
	}
	if len(read) != len(slim)+1 {
		t.Errorf("single reads = %d, want %d", len(read), len(slim)+1)
	}
	if m := maxInFlight.Load(); m > fillConcurrency {
		t.Errorf("%d single reads at once, want at most %d", m, fillConcurrency)
	}
}

func TestListActionsFailedFillIsNotCached(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	var afters box[[]string]
	f.handle("GET /v1/connect/proj_test1/actions", pagedActions(t, []map[string]any{slimAction("slack-x")}, 10, "", &afters))
	var fail atomic.Bool
	fail.Store(true)
	f.handle("GET /v1/connect/proj_test1/actions/{key}", func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			writeJSON(w, 400, `{"error":"bad"}`)
			return
		}
		writeJSON(w, 200, map[string]any{"data": fullAction("slack-x")})
	})
	c := f.client()
	if _, err := c.ListActions(t.Context(), "slack", RegistryPublic); err == nil {
		t.Fatal("want the single read's error")
	}
	fail.Store(false)
	got, err := c.ListActions(t.Context(), "slack", RegistryPublic)
	if err != nil || len(got) != 1 || !got[0].PropsLoaded {
		t.Fatalf("second ListActions = %v, %v; want a fresh, filled catalog", got, err)
	}
}

func TestListActionsCacheAndCollapse(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	var n atomic.Int32
	var extra atomic.Bool
	var gate chan struct{} // made in the bubble: the first list request waits here
	f.handle("GET /v1/connect/proj_test1/actions", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		<-gate
		data := []any{fullAction("slack-a")}
		if extra.Load() {
			data = append(data, fullAction("slack-b"))
		}
		writeJSON(w, 200, map[string]any{"data": data, "page_info": map[string]any{}})
	})
	c := f.client(f.inMemory())

	const callers = 20
	synctest.Test(t, func(t *testing.T) { // the whole test: the gate belongs to the bubble
		gate = make(chan struct{})
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				got, err := c.ListActions(t.Context(), "slack", RegistryPublic)
				if err != nil || len(got) != 1 {
					t.Errorf("ListActions = %v, %v", keys(got), err)
				}
			})
		}
		synctest.Wait() // every caller has piled up behind the request the gate holds
		close(gate)
		wg.Wait()
		if got := n.Load(); got != 1 {
			t.Errorf("list requests for %d concurrent callers = %d, want 1", callers, got)
		}
		got, _ := c.ListActions(t.Context(), "slack", RegistryPublic)
		got[0].Key = "mutated by the caller"
		if n.Load() != 1 {
			t.Errorf("a cached catalog was fetched again")
		}
		if again, _ := c.ListActions(t.Context(), "slack", RegistryPublic); again[0].Key != "slack-a" {
			t.Errorf("a caller's change reached the cache: %q", again[0].Key)
		}

		extra.Store(true)
		fresh, err := c.RefreshActions(t.Context(), "slack", RegistryPublic)
		if err != nil || len(fresh) != 2 || n.Load() != 2 {
			t.Fatalf("RefreshActions = %v, %v after %d requests", keys(fresh), err, n.Load())
		}
		if cached, _ := c.ListActions(t.Context(), "slack", RegistryPublic); len(cached) != 2 || n.Load() != 2 {
			t.Errorf("after refresh: %v after %d requests; want the refreshed catalog from the cache", keys(cached), n.Load())
		}
	})
}

func TestListActionsCacheExpires(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	var n atomic.Int32
	f.handle("GET /v1/connect/proj_test1/actions", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeJSON(w, 200, map[string]any{"data": []any{fullAction("slack-a")}})
	})
	cfg := f.config()
	cfg.CatalogTTL = 50 * time.Millisecond
	c, err := New(cfg, f.inMemory())
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) { // the TTL runs on the bubble's fake clock
		list := func() {
			t.Helper()
			if _, err := c.ListActions(t.Context(), "slack", RegistryPublic); err != nil {
				t.Fatal(err)
			}
		}
		list()
		list()
		time.Sleep(49 * time.Millisecond)
		list()
		if got := n.Load(); got != 1 {
			t.Errorf("list requests within the TTL = %d, want 1", got)
		}
		time.Sleep(31 * time.Millisecond) // 80ms after the fetch
		list()
		if got := n.Load(); got != 2 {
			t.Errorf("list requests = %d, want 2 (one per TTL)", got)
		}
	})
}

func TestCollapsedFetchSurvivesTheFirstCallerLeaving(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	var gate chan struct{} // made in the bubble: the list request waits here
	var n atomic.Int32
	f.handle("GET /v1/connect/proj_test1/actions", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		<-gate
		writeJSON(w, 200, map[string]any{"data": []any{fullAction("slack-a")}})
	})
	c := f.client(f.inMemory())
	synctest.Test(t, func(t *testing.T) {
		gate = make(chan struct{})
		ctxA, cancelA := context.WithCancel(t.Context())
		errA := make(chan error, 1)
		go func() {
			_, err := c.ListActions(ctxA, "slack", RegistryPublic)
			errA <- err
		}()
		synctest.Wait() // A's fetch is at the API, held by the gate
		if n.Load() != 1 {
			t.Fatalf("list requests = %d, want A's one", n.Load())
		}
		resB := make(chan []Component, 1)
		go func() {
			got, err := c.ListActions(t.Context(), "slack", RegistryPublic)
			if err != nil {
				t.Error(err)
			}
			resB <- got
		}()
		synctest.Wait() // B waits on the same fetch
		cancelA()
		if err := <-errA; !errors.Is(err, context.Canceled) {
			t.Errorf("A: err = %v, want Canceled", err)
		}
		close(gate)
		if got := <-resB; len(got) != 1 {
			t.Errorf("B got %v", keys(got))
		}
		if n.Load() != 1 {
			t.Errorf("list requests = %d, want 1", n.Load())
		}
	})
}

func TestGetAction(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, body string }{
		{"data wrapped", `{"data":{"key":"slack-send","name":"Send","version":"1.2.0","configurable_props":[{"name":"x","type":"future_type","weird":1}]}}`},
		{"bare", `{"key":"slack-send","name":"Send","version":"1.2.0","configurable_props":[{"name":"x","type":"future_type","weird":1}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			var version box[string]
			f.handle("GET /v1/connect/proj_test1/actions/{key}", func(w http.ResponseWriter, r *http.Request) {
				version.set(r.URL.Query().Get("version"))
				writeJSON(w, 200, tc.body)
			})
			got, err := f.client().GetAction(t.Context(), "slack-send", "1.2.0")
			if err != nil {
				t.Fatal(err)
			}
			if version.get() != "1.2.0" {
				t.Errorf("version query = %q", version.get())
			}
			if got.Key != "slack-send" || got.Version != "1.2.0" || len(got.ConfigurableProps) != 1 {
				t.Fatalf("GetAction = %+v", got)
			}
			p := got.ConfigurableProps[0]
			if p.Type != "future_type" || !strings.Contains(string(p.Raw), `"weird":1`) {
				t.Errorf("unknown prop type not kept: %+v", p)
			}
		})
	}
}

func TestConfigureProp(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	var body box[map[string]any]
	var answer atomic.Value
	f.handle("POST /v1/connect/proj_test1/components/configure", func(w http.ResponseWriter, r *http.Request) {
		body.set(readBody(t, r))
		writeJSON(w, 200, answer.Load().(string))
	})
	c := f.client()

	answer.Store(`{"observations":[],"context":null,"timings":{"x":1},
		"options":["plain",42,{"label":"Gen","value":"C1"},{"__lv":{"label":"Rand","value":"C2"}}],
		"stringOptions":["s1"],"errors":[]}`)
	resp, err := c.ConfigureProp(t.Context(), ConfigurePropRequest{
		ID: "slack-send", ExternalUserID: "u1", PropName: "channel", Version: "1.0.0",
		ConfiguredProps: map[string]any{"slack": map[string]any{"authProvisionId": "apn_1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantBody := map[string]any{
		"id": "slack-send", "external_user_id": "u1", "prop_name": "channel", "version": "1.0.0", "page": 0.0,
		"configured_props": map[string]any{"slack": map[string]any{"authProvisionId": "apn_1"}},
	}
	if got := body.get(); !reflect.DeepEqual(got, wantBody) {
		t.Errorf("body = %v\nwant %v", got, wantBody)
	}
	if resp.Context != nil {
		t.Errorf("Context = %s, want nil for null", resp.Context)
	}
	var got []string
	for _, o := range resp.AllOptions() {
		got = append(got, o.Label+"="+string(o.Value))
	}
	want := []string{`="plain"`, `=42`, `Gen="C1"`, `Rand="C2"`, `s1="s1"`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AllOptions = %v, want %v", got, want)
	}

	// Next page: page and prev_context are sent; a context object is kept.
	answer.Store(`{"options":[],"context":{"cursor":"n2"},"stringOptions":null}`)
	resp, err = c.ConfigureProp(t.Context(), ConfigurePropRequest{
		ID: "slack-send", ExternalUserID: "u1", PropName: "channel", Page: 1,
		PrevContext: json.RawMessage(`{"cursor":"n1"}`), Query: "gen", DynamicPropsID: "dyp_1",
	})
	if err != nil {
		t.Fatal(err)
	}
	b := body.get()
	if b["page"] != 1.0 || !reflect.DeepEqual(b["prev_context"], map[string]any{"cursor": "n1"}) || b["query"] != "gen" || b["dynamic_props_id"] != "dyp_1" {
		t.Errorf("body = %v", b)
	}
	if _, ok := b["configured_props"]; ok {
		t.Errorf("configured_props sent although empty")
	}
	if string(resp.Context) != `{"cursor":"n2"}` {
		t.Errorf("Context = %s", resp.Context)
	}

	// Component errors come with HTTP 200, with the response.
	answer.Store(`{"options":[{"label":"a","value":"a"}],"errors":["{\"name\":\"TypeError\",\"message\":\"x is undefined\"}","plain failure",{"name":"Error","message":"object entry"}],"observations":[{"k":"console.log","msg":"hi","ts":1}]}`)
	resp, err = c.ConfigureProp(t.Context(), ConfigurePropRequest{ID: "slack-send", ExternalUserID: "u1", PropName: "channel"})
	var ce *ComponentError
	if !errors.As(err, &ce) || ce.Op != "configure" {
		t.Fatalf("err = %v, want *ComponentError", err)
	}
	if wantMsgs := []string{"TypeError: x is undefined", "plain failure", "object entry"}; !reflect.DeepEqual(ce.Messages, wantMsgs) {
		t.Errorf("Messages = %q, want %q", ce.Messages, wantMsgs)
	}
	if resp == nil || len(resp.Options) != 1 || len(resp.Observations) != 1 || resp.Observations[0].Msg != "hi" {
		t.Errorf("response with the error = %+v", resp)
	}
}

func TestReloadProps(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	var body box[map[string]any]
	var answer atomic.Value
	f.handle("POST /v1/connect/proj_test1/components/props", func(w http.ResponseWriter, r *http.Request) {
		body.set(readBody(t, r))
		writeJSON(w, 200, answer.Load().(string))
	})
	c := f.client()
	answer.Store(`{"observations":[],"errors":[],"dynamicProps":{"id":"dyp_6x","configurableProps":[
		{"name":"googleSheets","type":"app","app":"google_sheets"},
		{"name":"sheetId","type":"string","reloadProps":true,"remoteOptions":true},
		{"name":"future","type":"$.new.kind","optional":"true"}]}}`)
	resp, err := c.ReloadProps(t.Context(), ReloadPropsRequest{
		ID: "google_sheets-add-single-row", ExternalUserID: "u1",
		ConfiguredProps: map[string]any{"sheetId": "abc"}, DynamicPropsID: "dyp_prev",
	})
	if err != nil {
		t.Fatal(err)
	}
	wantBody := map[string]any{"id": "google_sheets-add-single-row", "external_user_id": "u1",
		"configured_props": map[string]any{"sheetId": "abc"}, "dynamic_props_id": "dyp_prev"}
	if got := body.get(); !reflect.DeepEqual(got, wantBody) {
		t.Errorf("body = %v\nwant %v", got, wantBody)
	}
	dp := resp.DynamicProps
	if dp.ID != "dyp_6x" || len(dp.ConfigurableProps) != 3 || !dp.ConfigurableProps[1].ReloadProps ||
		dp.ConfigurableProps[2].Type != "$.new.kind" || !dp.ConfigurableProps[2].Optional {
		t.Errorf("DynamicProps = %+v", dp)
	}

	answer.Store(`{"errors":["{\"name\":\"Error\",\"message\":\"undefined is not an array\"}"],"dynamicProps":{"id":"dyp_7"}}`)
	resp, err = c.ReloadProps(t.Context(), ReloadPropsRequest{ID: "k", ExternalUserID: "u1"})
	var ce *ComponentError
	if !errors.As(err, &ce) || ce.Op != "props" || !reflect.DeepEqual(ce.Messages, []string{"undefined is not an array"}) {
		t.Fatalf("err = %v, want a props ComponentError", err)
	}
	if resp == nil || resp.DynamicProps.ID != "dyp_7" {
		t.Errorf("response with the error = %+v", resp)
	}
}

func TestRunAction(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		req       RunActionRequest
		answer    string
		wantBody  map[string]any
		wantStash string
		wantSum   string
		wantRet   string
		wantErrs  []string
	}{
		{
			name:     "minimal",
			req:      RunActionRequest{ID: "slack-send", ExternalUserID: "u1"},
			answer:   `{"exports":{"$summary":"Sent"},"os":[],"ret":{"ok":true},"stash_id":null}`,
			wantBody: map[string]any{"id": "slack-send", "external_user_id": "u1", "configured_props": map[string]any{}},
			wantSum:  "Sent", wantRet: `{"ok":true}`,
		},
		{
			name: "everything, stashId drift",
			req: RunActionRequest{ID: "slack-send", ExternalUserID: "u1", Version: "0.2.0", DynamicPropsID: "dyp_1", StashID: "NEW",
				ConfiguredProps: map[string]any{"slack": map[string]any{"authProvisionId": "apn_1"}}, Idempotent: true},
			answer: `{"exports":{"$summary":3},"ret":null,"stashId":"stash_9"}`,
			wantBody: map[string]any{"id": "slack-send", "external_user_id": "u1", "version": "0.2.0", "dynamic_props_id": "dyp_1",
				"stash_id": "NEW", "configured_props": map[string]any{"slack": map[string]any{"authProvisionId": "apn_1"}}},
			wantStash: "stash_9", wantSum: "3",
		},
		{
			name:      "stash_id",
			req:       RunActionRequest{ID: "a", ExternalUserID: "u"},
			answer:    `{"stash_id":"stash_1","observations":[{"k":"console.log","msg":"x"}]}`,
			wantBody:  map[string]any{"id": "a", "external_user_id": "u", "configured_props": map[string]any{}},
			wantStash: "stash_1",
		},
		{
			name:     "action failed",
			req:      RunActionRequest{ID: "a", ExternalUserID: "u"},
			answer:   `{"exports":{},"os":[{"k":"console.log","ts":1,"msg":"starting"},{"k":"error","ts":2,"err":{"name":"TypeError","message":"Cannot read properties of undefined"}},{"k":"error","ts":"3","msg":"second failure"}],"ret":"partial"}`,
			wantBody: map[string]any{"id": "a", "external_user_id": "u", "configured_props": map[string]any{}},
			wantRet:  `"partial"`,
			wantErrs: []string{"TypeError: Cannot read properties of undefined", "second failure"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			var body box[map[string]any]
			f.handle("POST /v1/connect/proj_test1/actions/run", func(w http.ResponseWriter, r *http.Request) {
				body.set(readBody(t, r))
				writeJSON(w, 200, tt.answer)
			})
			resp, err := f.client().RunAction(t.Context(), tt.req)
			if tt.wantErrs == nil && err != nil {
				t.Fatal(err)
			}
			if tt.wantErrs != nil {
				var ce *ComponentError
				if !errors.As(err, &ce) || ce.Op != "run" || !reflect.DeepEqual(ce.Messages, tt.wantErrs) {
					t.Fatalf("err = %v, want run errors %q", err, tt.wantErrs)
				}
			}
			if resp == nil {
				t.Fatal("nil response")
			}
			if got := body.get(); !reflect.DeepEqual(got, tt.wantBody) {
				t.Errorf("body = %v\nwant %v", got, tt.wantBody)
			}
			if resp.StashID != tt.wantStash || resp.Summary() != tt.wantSum || string(resp.Ret) != tt.wantRet {
				t.Errorf("StashID %q Summary %q Ret %s; want %q %q %s", resp.StashID, resp.Summary(), resp.Ret, tt.wantStash, tt.wantSum, tt.wantRet)
			}
		})
	}
}

func TestRequiredArguments(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	c := f.client()
	ctx := t.Context()
	calls := map[string]func() error{
		"ListActions":    func() error { _, err := c.ListActions(ctx, "", RegistryPublic); return err },
		"RefreshActions": func() error { _, err := c.RefreshActions(ctx, "", RegistryPublic); return err },
		"GetAction":      func() error { _, err := c.GetAction(ctx, "", ""); return err },
		"ConfigureProp": func() error {
			_, err := c.ConfigureProp(ctx, ConfigurePropRequest{ID: "a", ExternalUserID: "u"})
			return err
		},
		"ReloadProps":        func() error { _, err := c.ReloadProps(ctx, ReloadPropsRequest{ID: "a"}); return err },
		"RunAction":          func() error { _, err := c.RunAction(ctx, RunActionRequest{ExternalUserID: "u"}); return err },
		"ListAccounts":       func() error { _, err := c.ListAccounts(ctx, "", "slack"); return err },
		"GetAccount":         func() error { _, err := c.GetAccount(ctx, ""); return err },
		"GetApp":             func() error { _, err := c.GetApp(ctx, ""); return err },
		"CreateConnectToken": func() error { _, err := c.CreateConnectToken(ctx, ConnectTokenRequest{}); return err },
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s with a missing argument succeeded", name)
		}
	}
	if n := f.apiCalls.Load(); n != 0 {
		t.Errorf("%d requests sent for calls with missing arguments", n)
	}
}

// A deployment that serves only the action-scoped aliases (actions/configure,
// actions/props) is reached after one 404 on the components/ path.
func TestComponentOpsFallBackToActionAliases(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	var hits box[[]string]
	for _, op := range []string{"configure", "props"} {
		f.handle("POST /v1/connect/proj_test1/actions/"+op, func(w http.ResponseWriter, r *http.Request) {
			hits.set(append(hits.get(), r.URL.Path))
			if op == "configure" {
				writeJSON(w, 200, `{"options":[{"label":"General","value":"C1"}],"context":null,"errors":[]}`)
				return
			}
			writeJSON(w, 200, `{"dynamicProps":{"id":"dyp_1","configurableProps":[{"name":"x","type":"string"}]},"errors":[]}`)
		})
	}
	c := f.client()
	opts, err := c.ConfigureProp(t.Context(), ConfigurePropRequest{ID: "slack-x", ExternalUserID: "u", PropName: "channel"})
	if err != nil || len(opts.AllOptions()) != 1 {
		t.Fatalf("configure through the alias: %v %+v", err, opts)
	}
	props, err := c.ReloadProps(t.Context(), ReloadPropsRequest{ID: "slack-x", ExternalUserID: "u"})
	if err != nil || props.DynamicProps.ID != "dyp_1" {
		t.Fatalf("props through the alias: %v %+v", err, props)
	}
	if got := hits.get(); len(got) != 2 {
		t.Errorf("alias hits = %v, want one per call", got)
	}
	// Served on neither path: the 404 comes back as ErrNotFound.
	bare := newFake(t).client()
	if _, err := bare.ConfigureProp(t.Context(), ConfigurePropRequest{ID: "slack-x", ExternalUserID: "u", PropName: "channel"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("want ErrNotFound when neither path exists, got %v", err)
	}
}
