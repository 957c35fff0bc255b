package pdclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// countingTransport counts the API response body bytes its client reads
// (token responses left out).
type countingTransport struct {
	base http.RoundTripper
	read atomic.Int64
}

// RoundTrip implements http.RoundTripper.
func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if resp != nil && !strings.HasSuffix(r.URL.Path, "/"+tokenPath) {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &t.read}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// endlessList answers every page with perPage new items, each padded with
// itemBytes bytes, and a cursor to a further page; it counts pages. After
// stopAfter bytes (0: never) it ends the listing.
type endlessList struct {
	perPage, itemBytes int
	stopAfter          int64
	item               func(i int, pad string) map[string]any
	pages              atomic.Int32
	served             atomic.Int64
}

func (e *endlessList) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.pages.Add(1)
	start, _ := strconv.Atoi(r.URL.Query().Get("after"))
	pad := strings.Repeat("p", e.itemBytes)
	items := make([]map[string]any, e.perPage)
	for i := range items {
		items[i] = e.item(start+i, pad)
	}
	next := strconv.Itoa(start + e.perPage)
	if e.stopAfter > 0 && e.served.Load() >= e.stopAfter {
		next = ""
	}
	body, _ := json.Marshal(map[string]any{"data": items, "page_info": map[string]any{"end_cursor": next}})
	e.served.Add(int64(len(body)))
	writeJSON(w, 200, string(body))
}

func actionItem(i int, pad string) map[string]any {
	return map[string]any{"key": fmt.Sprintf("github-a%d", i), "name": "A", "version": "1", "description": pad, "configurable_props": []any{}}
}

func accountItem(i int, pad string) map[string]any {
	return map[string]any{"id": fmt.Sprintf("apn_%d", i), "name": pad, "healthy": true, "app": map[string]any{"name_slug": "github"}}
}

// listingCase is one paginated listing of pdclient.
type listingCase struct {
	name    string
	what    string // the listing's name in errors
	pattern string
	item    func(i int, pad string) map[string]any
	call    func(ctx context.Context, c *Client) (int, error)
}

var listingCases = []listingCase{
	{"actions", `actions of app "github"`, "GET /v1/connect/proj_test1/actions", actionItem, func(ctx context.Context, c *Client) (int, error) {
		comps, err := c.ListActions(ctx, "github", RegistryPublic)
		return len(comps), err
	}},
	{"accounts", `accounts of app "github"`, "GET /v1/connect/proj_test1/accounts", accountItem, func(ctx context.Context, c *Client) (int, error) {
		accts, err := c.ListAccounts(ctx, "u1", "github")
		return len(accts), err
	}},
}

// TestListingEndlessCursorsStopAtDefaultItemBound (item 4): an upstream whose
// cursors never end is read up to the default item bound (10,000 items), not
// to 100,000, fails with a clear error, and is not cached.
func TestListingEndlessCursorsStopAtDefaultItemBound(t *testing.T) {
	for _, lc := range listingCases {
		t.Run(lc.name, func(t *testing.T) {
			f := newFake(t)
			e := &endlessList{perPage: 100, item: lc.item}
			f.handle(lc.pattern, e.ServeHTTP)
			c := f.client()
			n, err := lc.call(t.Context(), c)
			if err == nil {
				t.Fatalf("no error: the endless listing was accepted with %d items over %d pages", n, e.pages.Load())
			}
			if got := e.pages.Load(); got > 101 {
				t.Errorf("read %d pages of 100 items, want at most 101 (10,000 items)", got)
			}
			for _, want := range []string{"10000 items", "MaxListItems"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if le := checkTooLarge(t, err, "MaxListItems", lc.what); le.Items != 10_100 || le.Limit != 10_000 {
				t.Errorf("stopped at %+v, want 10100 items read", *le)
			}
			before := e.pages.Load()
			if _, err := lc.call(t.Context(), c); err == nil {
				t.Error("second call: no error")
			}
			if e.pages.Load() == before {
				t.Error("second call was answered from the cache: a partial listing was cached")
			}
		})
	}
}

// checkTooLarge fails the test unless err is a *ListingTooLargeError of
// setting, naming it and the listing.
func checkTooLarge(t *testing.T, err error, setting, listing string) *ListingTooLargeError {
	t.Helper()
	var le *ListingTooLargeError
	if !errors.Is(err, ErrListingTooLarge) || !errors.As(err, &le) {
		t.Fatalf("err = %v (%T), want a *ListingTooLargeError", err, err)
	}
	if le.Setting != setting || le.Listing != listing {
		t.Errorf("stopped by %q on %q, want %q on %q", le.Setting, le.Listing, setting, listing)
	}
	for _, want := range []string{"raise " + setting, listing, le.Path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	return le
}

// TestListingItemBound (item 4): Config.MaxListItems stops every paginated
// listing at the page that passes it, with a typed error saying how much was
// read, and nothing is cached; a listing of exactly the bound is served.
func TestListingItemBound(t *testing.T) {
	for _, lc := range listingCases {
		t.Run(lc.name, func(t *testing.T) {
			f := newFake(t)
			e := &endlessList{perPage: 100, item: lc.item}
			f.handle(lc.pattern, e.ServeHTTP)
			cfg := f.config()
			cfg.MaxListItems = 250
			c, err := New(cfg, WithRetry(fastRetry))
			if err != nil {
				t.Fatal(err)
			}
			_, err = lc.call(t.Context(), c)
			le := checkTooLarge(t, err, "MaxListItems", lc.what)
			if le.Limit != 250 || le.Items != 300 || le.Pages != 3 || e.pages.Load() != 3 {
				t.Errorf("stopped at %+v after %d pages served, want 300 items read in 3 pages", *le, e.pages.Load())
			}
			before := e.pages.Load()
			if _, err := lc.call(t.Context(), c); !errors.Is(err, ErrListingTooLarge) {
				t.Errorf("second call: %v", err)
			}
			if e.pages.Load() == before {
				t.Error("second call was answered from the cache: a partial listing was cached")
			}
		})
		t.Run(lc.name+"/exactly the bound", func(t *testing.T) {
			f := newFake(t)
			e := &endlessList{perPage: 100, item: lc.item, stopAfter: 1}
			e.served.Store(1) // the first page ends the listing
			f.handle(lc.pattern, e.ServeHTTP)
			cfg := f.config()
			cfg.MaxListItems = 100
			c, err := New(cfg, WithRetry(fastRetry))
			if err != nil {
				t.Fatal(err)
			}
			if n, err := lc.call(t.Context(), c); err != nil || n != 100 {
				t.Errorf("= %d items, %v; want the 100 items", n, err)
			}
		})
	}
}

// TestListingByteBound (item 4): pages of 300 KB items stop at
// Config.MaxListBytes, counted as the bytes the client read: the client never
// reads past the bound, even within a page.
func TestListingByteBound(t *testing.T) {
	const bound = 1 << 20
	for _, lc := range listingCases {
		for _, perPage := range []int{1, 5} {
			t.Run(fmt.Sprintf("%s/%d a page", lc.name, perPage), func(t *testing.T) {
				f := newFake(t)
				e := &endlessList{perPage: perPage, itemBytes: 300 << 10, item: lc.item}
				f.handle(lc.pattern, e.ServeHTTP)
				ct := &countingTransport{base: http.DefaultTransport}
				cfg := f.config()
				cfg.MaxListBytes = bound
				c, err := New(cfg, WithRetry(fastRetry), WithHTTPClient(&http.Client{Transport: ct}))
				if err != nil {
					t.Fatal(err)
				}
				_, err = lc.call(t.Context(), c)
				le := checkTooLarge(t, err, "MaxListBytes", lc.what)
				if got := ct.read.Load(); got > bound+1 || got != le.Bytes {
					t.Errorf("read %d bytes (error says %d), want at most %d", got, le.Bytes, bound+1)
				}
				if le.Limit != bound {
					t.Errorf("Limit = %d", le.Limit)
				}
			})
		}
	}
}

// TestListingDefaultBounds (item 4): zero bounds take the documented
// defaults, negative ones are refused.
func TestListingDefaultBounds(t *testing.T) {
	f := newFake(t)
	c := f.client()
	if c.cfg.MaxListItems != DefaultMaxListItems || c.cfg.MaxListBytes != DefaultMaxListBytes ||
		DefaultMaxListItems != 10_000 || DefaultMaxListBytes != 64<<20 {
		t.Errorf("defaults: %d items, %d bytes", c.cfg.MaxListItems, c.cfg.MaxListBytes)
	}
	cfg := f.config()
	cfg.MaxListItems, cfg.MaxListBytes = -1, -1
	_, err := New(cfg)
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "MaxListItems must not be negative") ||
		!strings.Contains(err.Error(), "MaxListBytes must not be negative") {
		t.Errorf("New with negative bounds: %v", err)
	}
}

// TestSinglePageListingsBounded (item 4): the listings read one page at a
// time (apps, a prop's options) are bounded in the same way.
func TestSinglePageListingsBounded(t *testing.T) {
	f := newFake(t)
	f.handle("GET /v1/connect/apps", func(w http.ResponseWriter, r *http.Request) {
		var items []string
		for i := range 11 {
			items = append(items, fmt.Sprintf(`{"name_slug":"app%d","name":"App"}`, i))
		}
		writeJSON(w, 200, `{"data":[`+strings.Join(items, ",")+`],"page_info":{"end_cursor":"more"}}`)
	})
	f.handle("POST /v1/connect/proj_test1/components/configure", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"options":[{"label":"a","value":"a"},{"label":"b","value":"b"}],"stringOptions":["c","d","e","f","g","h","i","j","k"]}`)
	})
	cfg := f.config()
	cfg.MaxListItems = 10
	c, err := New(cfg, WithRetry(fastRetry))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.ListApps(t.Context(), ListAppsOptions{})
	checkTooLarge(t, err, "MaxListItems", "apps")
	_, err = c.ConfigureProp(t.Context(), ConfigurePropRequest{ID: "github-x", ExternalUserID: "u1", PropName: "repo"})
	checkTooLarge(t, err, "MaxListItems", `options of prop "repo"`)

	cfg.MaxListItems, cfg.MaxListBytes = 0, 100
	c, err = New(cfg, WithRetry(fastRetry))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.ListApps(t.Context(), ListAppsOptions{})
	checkTooLarge(t, err, "MaxListBytes", "apps")
	_, err = c.ConfigureProp(t.Context(), ConfigurePropRequest{ID: "github-x", ExternalUserID: "u1", PropName: "repo"})
	checkTooLarge(t, err, "MaxListBytes", `options of prop "repo"`)
}

// TestEveryBodyBounded (item 4): a single successful response is read up to
// 32 MiB and no further, and an error body up to its own cap, whatever the
// server sends.
func TestEveryBodyBounded(t *testing.T) {
	f := newFake(t)
	huge := func(w http.ResponseWriter, status int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"data":{"key":"`)
		chunk := strings.Repeat("x", 1<<20)
		for range 40 {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
		_, _ = io.WriteString(w, `"}}`)
	}
	f.handle("GET /v1/connect/proj_test1/actions/big", func(w http.ResponseWriter, r *http.Request) { huge(w, 200) })
	f.handle("GET /v1/connect/proj_test1/actions/bigerr", func(w http.ResponseWriter, r *http.Request) { huge(w, 400) })
	ct := &countingTransport{base: http.DefaultTransport}
	c := f.client(WithHTTPClient(&http.Client{Transport: ct}))

	_, err := c.GetAction(t.Context(), "big", "")
	if !errors.Is(err, ErrResponseTooLarge) {
		t.Errorf("40 MiB body: err = %v, want ErrResponseTooLarge", err)
	}
	if got := ct.read.Load(); got > maxResponseBytes+1 {
		t.Errorf("read %d bytes of a 40 MiB body, want at most %d", got, maxResponseBytes+1)
	}
	ct.read.Store(0)
	_, err = c.GetAction(t.Context(), "bigerr", "")
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 400 || len(ae.Body) > maxBodyText+len("…(truncated)") {
		t.Errorf("40 MiB error body: err = %.200v", err)
	}
	if got := ct.read.Load(); got > 2*maxErrorBytes {
		t.Errorf("read %d bytes of a 40 MiB error body, want at most %d", got, 2*maxErrorBytes)
	}
}
