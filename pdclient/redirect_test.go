package pdclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// otherOrigin is an httptest server on another port (so another origin) that
// records every request it receives and answers each with something a client
// might accept: a token for the token path, a one-item list otherwise.
type otherOrigin struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []string // "METHOD path?query\nheaders\nbody"
}

func newOtherOrigin(t *testing.T) *otherOrigin {
	t.Helper()
	o := &otherOrigin{}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var hdr strings.Builder
		_ = r.Header.Write(&hdr)
		o.mu.Lock()
		o.reqs = append(o.reqs, fmt.Sprintf("%s %s\n%s\n%s", r.Method, r.URL.RequestURI(), hdr.String(), body))
		o.mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/oauth/token") {
			writeJSON(w, 200, `{"access_token":"at-from-the-other-origin","token_type":"Bearer","expires_in":3600}`)
			return
		}
		writeJSON(w, 200, `{"data":[{"key":"evil-action","name":"Evil","version":"1","id":"apn_evil","token":"ctok_evil","configurable_props":[]}],"page_info":{}}`)
	}))
	t.Cleanup(o.srv.Close)
	return o
}

// received returns the requests the other origin got.
func (o *otherOrigin) received() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.reqs...)
}

// redirectCodes are every redirect status a server may answer with.
var redirectCodes = []int{
	http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
	http.StatusTemporaryRedirect, http.StatusPermanentRedirect,
}

// checkNothingLeaked fails the test when the other origin received anything
// or err carries a credential.
func checkNothingLeaked(t *testing.T, f *fakeAPI, o *otherOrigin, err error) {
	t.Helper()
	got := o.received()
	if len(got) > 0 {
		t.Errorf("the other origin received %d request(s), want none; first:\n%s", len(got), got[0])
	}
	for _, req := range got {
		for _, secret := range []string{testSecret, f.tokenAt(0)} {
			if secret != "" && strings.Contains(req, secret) {
				t.Errorf("a credential reached the other origin:\n%s", req)
			}
		}
	}
	if err == nil {
		return
	}
	for _, secret := range []string{testSecret, f.tokenAt(0), "at-from-the-other-origin"} {
		if secret != "" && strings.Contains(err.Error(), secret) {
			t.Errorf("error reveals a credential: %v", err)
		}
	}
}

// checkRedirectRefused fails the test unless err is the refusal of a
// redirect to the other origin, naming that origin.
func checkRedirectRefused(t *testing.T, err error, o *otherOrigin) {
	t.Helper()
	if err == nil {
		t.Fatal("no error: the redirect to another origin was accepted")
	}
	if !strings.Contains(err.Error(), "another origin "+o.srv.URL+"; refusing") {
		t.Errorf("error %q does not name the refused origin %s", err, o.srv.URL)
	}
	var re *RedirectError
	if !errors.Is(err, ErrRedirectRefused) || !errors.As(err, &re) || re.To != o.srv.URL {
		t.Errorf("error %v (%T) is not a *RedirectError to %s", err, err, o.srv.URL)
	}
}

// TestTokenRequestFollowsNoRedirect (item 3): the token endpoint answering
// with any redirect, to another origin or its own, gets no second request:
// the client secret goes nowhere else, and the call fails with a clear error.
func TestTokenRequestFollowsNoRedirect(t *testing.T) {
	for _, code := range redirectCodes {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			f := newFake(t)
			o := newOtherOrigin(t)
			f.tokenHook = func(w http.ResponseWriter, r *http.Request) bool {
				http.Redirect(w, r, o.srv.URL+"/v1/oauth/token", code)
				return true
			}
			_, err := f.client().AccessToken(t.Context())
			checkRedirectRefused(t, err, o)
			checkNothingLeaked(t, f, o, err)
		})
	}
	t.Run("same origin", func(t *testing.T) {
		f := newFake(t)
		var moved atomic.Int32
		f.mux.HandleFunc("/v1/oauth/token2", func(w http.ResponseWriter, r *http.Request) {
			moved.Add(1)
			f.token(w, r)
		})
		f.tokenHook = func(w http.ResponseWriter, r *http.Request) bool {
			http.Redirect(w, r, testPrefix+"/v1/oauth/token2", http.StatusTemporaryRedirect)
			return true
		}
		_, err := f.client().AccessToken(t.Context())
		var re *RedirectError
		if !errors.As(err, &re) || re.From != re.To || !strings.Contains(err.Error(), "follows no redirect") {
			t.Errorf("err = %v, want a refused same-origin redirect", err)
		}
		if n := moved.Load(); n != 0 {
			t.Errorf("the token request followed a same-origin redirect (%d requests)", n)
		}
	})
}

// TestAPIRedirectToOtherOriginRefused (item 3): a 302 on a catalog GET to
// another origin is not followed; the call fails and nothing is accepted or
// cached.
func TestAPIRedirectToOtherOriginRefused(t *testing.T) {
	f := newFake(t)
	o := newOtherOrigin(t)
	f.handle("GET /v1/connect/proj_test1/actions", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, o.srv.URL+r.URL.RequestURI(), http.StatusFound)
	})
	c := f.client()
	comps, err := c.ListActions(t.Context(), "github", RegistryPublic)
	checkRedirectRefused(t, err, o)
	checkNothingLeaked(t, f, o, err)
	if comps != nil {
		t.Errorf("accepted %d actions from the redirect", len(comps))
	}
	before := f.apiCalls.Load()
	if _, err := c.ListActions(t.Context(), "github", RegistryPublic); err == nil {
		t.Error("second call: no error")
	}
	if f.apiCalls.Load() == before {
		t.Error("second call was answered from the cache")
	}
}

// TestAPIRedirectSameOriginFollowed (item 3): a same-origin redirect is
// followed, with the access token, under the base URL.
func TestAPIRedirectSameOriginFollowed(t *testing.T) {
	f := newFake(t)
	f.handle("GET /v1/connect/proj_test1/actions", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, testPrefix+"/v1/connect/proj_test1/moved-actions?"+r.URL.RawQuery, http.StatusFound)
	})
	f.handle("GET /v1/connect/proj_test1/moved-actions", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"data":[{"key":"github-moved","name":"Moved","version":"1","configurable_props":[]}],"page_info":{}}`)
	})
	f.handle("POST /v1/connect/proj_test1/actions/run", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, testPrefix+"/v1/connect/proj_test1/moved-run", http.StatusTemporaryRedirect)
	})
	f.handle("POST /v1/connect/proj_test1/moved-run", func(w http.ResponseWriter, r *http.Request) {
		if got := readBody(t, r)["id"]; got != "github-moved" {
			t.Errorf("redirected run body id = %v", got)
		}
		writeJSON(w, 200, `{"exports":{"$summary":"moved"}}`)
	})
	c := f.client()
	comps, err := c.ListActions(t.Context(), "github", RegistryPublic)
	if err != nil || len(comps) != 1 || comps[0].Key != "github-moved" {
		t.Fatalf("ListActions = %v, %v; want the moved catalog", comps, err)
	}
	res, err := c.RunAction(t.Context(), RunActionRequest{ID: "github-moved", ExternalUserID: "u1"})
	if err != nil || res.Summary() != "moved" {
		t.Fatalf("RunAction = %v, %v", res, err)
	}
}

// TestSameOriginRedirectOutsideBasePathGetsNoToken (item 3): a same-origin
// redirect to a path outside the base URL is followed, but the access token
// stays with the API's own paths.
func TestSameOriginRedirectOutsideBasePathGetsNoToken(t *testing.T) {
	var auth atomic.Value
	auth.Store("unset")
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"access_token":"at-PLANTED-outside-1","token_type":"Bearer","expires_in":3600}`)
	})
	mux.HandleFunc("GET /api/v1/connect/proj_test1/actions", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere/actions", http.StatusFound)
	})
	mux.HandleFunc("GET /elsewhere/actions", func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		writeJSON(w, 200, `{"data":[],"page_info":{}}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := New(Config{ClientID: testClientID, ClientSecret: testSecret, ProjectID: testProject,
		Environment: testEnv, BaseURL: srv.URL + "/api"}, WithRetry(fastRetry))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListActions(t.Context(), "github", RegistryPublic); err != nil {
		t.Fatalf("ListActions: %v", err)
	}
	if got := auth.Load().(string); got != "" {
		t.Errorf("the path outside the base URL received Authorization %q", got)
	}
}

// TestRedirectPolicyEveryRequestKind (reliability: redirect policy for every
// outbound client): every kind of request pdclient makes, answered with every
// redirect status towards another origin, follows none, fails, and sends
// nothing there; with the default HTTP client and with clients given through
// WithHTTPClient, permissive ones included.
func TestRedirectPolicyEveryRequestKind(t *testing.T) {
	type row struct {
		name    string
		pattern string // API route that redirects; "" for the token endpoint
		call    func(ctx context.Context, c *Client) error
	}
	p := "/v1/connect/proj_test1/"
	rows := []row{
		{"token", "", func(ctx context.Context, c *Client) error { _, err := c.AccessToken(ctx); return err }},
		{"check credentials", "GET " + p + "accounts", func(ctx context.Context, c *Client) error { return c.CheckCredentials(ctx) }},
		{"list actions", "GET " + p + "actions", func(ctx context.Context, c *Client) error {
			_, err := c.ListActions(ctx, "github", RegistryPublic)
			return err
		}},
		{"refresh actions", "GET " + p + "actions", func(ctx context.Context, c *Client) error {
			_, err := c.RefreshActions(ctx, "github", RegistryPublic)
			return err
		}},
		{"get action", "GET " + p + "actions/github-x", func(ctx context.Context, c *Client) error { _, err := c.GetAction(ctx, "github-x", ""); return err }},
		{"list apps", "GET /v1/connect/apps", func(ctx context.Context, c *Client) error {
			_, _, err := c.ListApps(ctx, ListAppsOptions{})
			return err
		}},
		{"get app", "GET /v1/connect/apps/github", func(ctx context.Context, c *Client) error { _, err := c.GetApp(ctx, "github"); return err }},
		{"list accounts", "GET " + p + "accounts", func(ctx context.Context, c *Client) error { _, err := c.ListAccounts(ctx, "u1", "github"); return err }},
		{"get account", "GET " + p + "accounts/apn_1", func(ctx context.Context, c *Client) error { _, err := c.GetAccount(ctx, "apn_1"); return err }},
		{"connect token", "POST " + p + "tokens", func(ctx context.Context, c *Client) error {
			_, err := c.CreateConnectToken(ctx, ConnectTokenRequest{ExternalUserID: "u1"})
			return err
		}},
		{"configure", "POST " + p + "components/configure", func(ctx context.Context, c *Client) error {
			_, err := c.ConfigureProp(ctx, ConfigurePropRequest{ID: "github-x", ExternalUserID: "u1", PropName: "repo"})
			return err
		}},
		{"reload props", "POST " + p + "components/props", func(ctx context.Context, c *Client) error {
			_, err := c.ReloadProps(ctx, ReloadPropsRequest{ID: "github-x", ExternalUserID: "u1"})
			return err
		}},
		{"run", "POST " + p + "actions/run", func(ctx context.Context, c *Client) error {
			_, err := c.RunAction(ctx, RunActionRequest{ID: "github-x", ExternalUserID: "u1"})
			return err
		}},
		{"idempotent run", "POST " + p + "actions/run", func(ctx context.Context, c *Client) error {
			_, err := c.RunAction(ctx, RunActionRequest{ID: "github-x", ExternalUserID: "u1", Idempotent: true})
			return err
		}},
	}
	permissive := func(*http.Request, []*http.Request) error { return nil }
	clients := map[string]func() Option{
		"default":        func() Option { return nil },
		"WithHTTPClient": func() Option { return WithHTTPClient(&http.Client{}) },
		"WithHTTPClient permissive": func() Option {
			return WithHTTPClient(&http.Client{CheckRedirect: permissive, Transport: http.DefaultTransport})
		},
	}
	for _, r := range rows {
		for cname, opt := range clients {
			t.Run(r.name+"/"+cname, func(t *testing.T) {
				f := newFake(t)
				o := newOtherOrigin(t)
				var code atomic.Int32
				redirect := func(w http.ResponseWriter, req *http.Request) {
					http.Redirect(w, req, o.srv.URL+req.URL.RequestURI(), int(code.Load()))
				}
				if r.pattern == "" {
					f.tokenHook = func(w http.ResponseWriter, req *http.Request) bool { redirect(w, req); return true }
				} else {
					f.handle(r.pattern, redirect)
				}
				for _, c := range redirectCodes {
					code.Store(int32(c))
					err := r.call(t.Context(), f.client(opt()))
					var re *RedirectError
					switch {
					case err == nil:
						t.Errorf("%d: no error: the redirect was followed", c)
					case !errors.As(err, &re) || re.To != o.srv.URL || re.Status != c:
						t.Errorf("%d: error %v (%T) is not a *RedirectError of this redirect", c, err, err)
					case !strings.Contains(err.Error(), "another origin "+o.srv.URL):
						t.Errorf("%d: error %q does not name the refused origin", c, err)
					}
					checkNothingLeaked(t, f, o, err)
				}
			})
		}
	}
}

// TestRedirectPolicies checks the exported CheckRedirect functions directly:
// origins compare by scheme, host and port (default ports and case folded).
func TestRedirectPolicies(t *testing.T) {
	req := func(raw string) *http.Request {
		r, err := http.NewRequest(http.MethodGet, raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Response = &http.Response{StatusCode: http.StatusFound}
		return r
	}
	first := req("https://api.pipedream.com/v1/connect/apps")
	for _, tc := range []struct {
		to   string
		want bool // followed
	}{
		{"https://api.pipedream.com/v1/other?x=1", true},
		{"https://API.pipedream.com:443/v1/other", true},
		{"http://api.pipedream.com/v1/connect/apps", false},
		{"https://api.pipedream.com:8443/v1/connect/apps", false},
		{"https://evil.example/v1/connect/apps", false},
		{"https://api.pipedream.com.evil.example/", false},
		{"https://user:pw@evil.example/", false},
	} {
		err := SameOriginRedirects(req(tc.to), []*http.Request{first})
		if (err == nil) != tc.want {
			t.Errorf("SameOriginRedirects to %s: %v, want followed=%v", tc.to, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), "/v1")) {
			t.Errorf("error reveals more than the origin: %v", err)
		}
		if err := NoRedirects(req(tc.to), []*http.Request{first}); !errors.Is(err, ErrRedirectRefused) {
			t.Errorf("NoRedirects to %s: %v", tc.to, err)
		}
	}
	via := make([]*http.Request, maxRedirects)
	for i := range via {
		via[i] = first
	}
	if err := SameOriginRedirects(req("https://api.pipedream.com/x"), via); err == nil {
		t.Errorf("followed more than %d redirects", maxRedirects)
	}
}

// TestUnderBase checks which URLs get the access token: the base URL's
// origin and path only, dot segments (plain or escaped) resolved.
func TestUnderBase(t *testing.T) {
	c, err := New(Config{ClientID: testClientID, ClientSecret: testSecret, ProjectID: testProject,
		Environment: testEnv, BaseURL: "https://gw.example/api"})
	if err != nil {
		t.Fatal(err)
	}
	for raw, want := range map[string]bool{
		"https://gw.example/api/v1/connect/apps":          true,
		"https://GW.example:443/api/v1/oauth/token":       true,
		"https://gw.example/api":                          true,
		"https://gw.example/api/v1/../../other":           false,
		"https://gw.example/api/v1/%2e%2e/%2E%2E/other":   false,
		"https://gw.example/api/v1/connect/apps/a%2Fb%20": true,
		"https://gw.example/apiother/v1":                  false,
		"https://gw.example/other":                        false,
		"http://gw.example/api/v1/connect/apps":           false,
		"https://gw.example:8443/api/v1/connect/apps":     false,
		"https://evil.example/api/v1/connect/apps":        false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.underBase(u); got != want {
			t.Errorf("underBase(%s) = %v, want %v", raw, got, want)
		}
	}
}
