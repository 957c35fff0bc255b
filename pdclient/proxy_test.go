package pdclient

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// proxyPattern is the ServeMux pattern of the proxy endpoint of testProject.
const proxyPattern = "/v1/connect/" + testProject + "/proxy/{url64}"

// seenProxy is what the fake's proxy endpoint received.
type seenProxy struct {
	method, target, contentType, body string
	query                             url.Values
	headers                           http.Header
}

func TestProxySendsTheConnectShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		req     ProxyRequest
		want    seenProxy
		headers map[string]string // x-pd-proxy-* headers the proxy must get
	}{
		{
			name: "GET with headers",
			req: ProxyRequest{ExternalUserID: "u1", AccountID: "apn_1", Method: http.MethodGet,
				URL: "https://slack.com/api/chat.postMessage", Headers: map[string]string{"Accept": "application/json", "X-Trace": "abc"}},
			want:    seenProxy{method: "GET", target: "https://slack.com/api/chat.postMessage"},
			headers: map[string]string{"X-Pd-Proxy-Accept": "application/json", "X-Pd-Proxy-X-Trace": "abc"},
		},
		{
			name: "POST with a JSON body and a query string",
			req: ProxyRequest{ExternalUserID: "u 2", AccountID: "apn_2", Method: http.MethodPost,
				URL: "https://api.github.com/repos/o/r/issues?x=1&y=2", Body: []byte(`{"title":"t"}`)},
			want: seenProxy{method: "POST", target: "https://api.github.com/repos/o/r/issues?x=1&y=2", contentType: "application/json", body: `{"title":"t"}`},
		},
		{
			name: "PATCH with a text body",
			req: ProxyRequest{ExternalUserID: "u3", AccountID: "apn_3", Method: http.MethodPatch,
				URL: "https://api.example.com/x", Body: []byte("plain"), ContentType: "text/plain"},
			want: seenProxy{method: "PATCH", target: "https://api.example.com/x", contentType: "text/plain", body: "plain"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			var got box[seenProxy]
			f.handle(proxyPattern, func(w http.ResponseWriter, r *http.Request) {
				raw := r.PathValue("url64")
				target, err := base64.RawURLEncoding.DecodeString(raw)
				if err != nil || strings.ContainsAny(raw, "=+/") {
					t.Errorf("url_64 %q is not unpadded URL-safe base64: %v", raw, err)
				}
				body, _ := io.ReadAll(r.Body)
				got.set(seenProxy{method: r.Method, target: string(target), contentType: r.Header.Get("Content-Type"), body: string(body), query: r.URL.Query(), headers: r.Header.Clone()})
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Set-Cookie", "s=1")
				w.WriteHeader(http.StatusCreated)
				_, _ = io.WriteString(w, `{"ok":true}`)
			})
			resp, err := f.client().Proxy(t.Context(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusCreated || string(resp.Body) != `{"ok":true}` || resp.Truncated {
				t.Errorf("response = %d %q truncated=%v", resp.StatusCode, resp.Body, resp.Truncated)
			}
			seen := got.get()
			if seen.method != tc.want.method || seen.target != tc.want.target || seen.contentType != tc.want.contentType || seen.body != tc.want.body {
				t.Errorf("proxy got %s %s (%q, %q), want %s %s (%q, %q)", seen.method, seen.target, seen.contentType, seen.body,
					tc.want.method, tc.want.target, tc.want.contentType, tc.want.body)
			}
			wantQ := url.Values{"external_user_id": {tc.req.ExternalUserID}, "account_id": {tc.req.AccountID}}
			if !reflect.DeepEqual(seen.query, wantQ) {
				t.Errorf("query = %v, want %v", seen.query, wantQ)
			}
			for h, v := range tc.headers {
				if seen.headers.Get(h) != v {
					t.Errorf("header %s = %q, want %q", h, seen.headers.Get(h), v)
				}
			}
			for h := range seen.headers {
				if strings.HasPrefix(strings.ToLower(h), ProxyHeaderPrefix) && tc.headers[h] == "" {
					t.Errorf("unexpected proxied header %s", h)
				}
			}
		})
	}
}

func TestProxyPassesErrorsOnAndNeverRepeats(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusBadGateway} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			var n atomic.Int32
			f.handle(proxyPattern, func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				w.Header().Set("Retry-After", "1")
				writeJSON(w, status, `{"message":"nope"}`)
			})
			resp, err := f.client().Proxy(t.Context(), ProxyRequest{ExternalUserID: "u", AccountID: "apn_1", Method: http.MethodPost, URL: "https://api.example.com/x", Body: []byte(`{}`)})
			if err != nil {
				t.Fatalf("the app's %d is a response, not an error: %v", status, err)
			}
			if resp.StatusCode != status || string(resp.Body) != `{"message":"nope"}` {
				t.Errorf("response = %d %q", resp.StatusCode, resp.Body)
			}
			if n.Load() != 1 {
				t.Errorf("the request was sent %d times, want once", n.Load())
			}
		})
	}
}

func TestProxyCapsAndRedactsTheBody(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.handle(proxyPattern, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"echo":"Bearer abc.def.ghi `+testSecret+`","pad":"`+strings.Repeat("x", 100)+`"}`)
	})
	c := f.client()
	resp, err := c.Proxy(t.Context(), ProxyRequest{ExternalUserID: "u", AccountID: "apn_1", Method: http.MethodGet, URL: "https://api.example.com/x", MaxResponseBytes: 64})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Truncated || len(resp.Body) > 64 {
		t.Errorf("body %d bytes, truncated=%v; want at most 64 and truncated", len(resp.Body), resp.Truncated)
	}
	if strings.Contains(string(resp.Body), testSecret) || strings.Contains(string(resp.Body), "abc.def") {
		t.Errorf("a secret came through: %q", resp.Body)
	}
}

func TestProxyRefusesBadRequests(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	c := f.client()
	for name, req := range map[string]ProxyRequest{
		"no user":    {AccountID: "apn_1", Method: "GET", URL: "https://a.example/"},
		"no account": {ExternalUserID: "u", Method: "GET", URL: "https://a.example/"},
		"no url":     {ExternalUserID: "u", AccountID: "apn_1", Method: "GET"},
		"method":     {ExternalUserID: "u", AccountID: "apn_1", Method: "TRACE", URL: "https://a.example/"},
	} {
		if _, err := c.Proxy(t.Context(), req); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if n := f.apiCalls.Load(); n != 0 {
		t.Errorf("%d requests were sent", n)
	}
}

func TestDownloadFile(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.handle("GET /v1/connect/"+testProject+"/file_stash/download", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("s3_key") {
		case "1/p/s/a.txt":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "hello, file")
		default:
			writeJSON(w, 404, `{"error":"file not found"}`)
		}
	})
	c := f.client()
	tests := []struct {
		key       string
		limit     int64
		body      string
		truncated bool
		notFound  bool
	}{
		{key: "1/p/s/a.txt", limit: 100, body: "hello, file"},
		{key: "1/p/s/a.txt", limit: 5, body: "hello", truncated: true},
		{key: "1/p/s/missing", limit: 100, notFound: true},
	}
	for _, tc := range tests {
		got, err := c.DownloadFile(t.Context(), tc.key, tc.limit)
		if tc.notFound {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: err = %v, want ErrNotFound", tc.key, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.key, err)
		}
		if string(got.Body) != tc.body || got.Truncated != tc.truncated || got.ContentType != "text/plain" {
			t.Errorf("%s limit %d: %q truncated=%v type %q", tc.key, tc.limit, got.Body, got.Truncated, got.ContentType)
		}
	}
}

func TestListActionsRegistries(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	var asked box[[]string]
	f.handle("GET /v1/connect/"+testProject+"/actions", func(w http.ResponseWriter, r *http.Request) {
		reg := r.URL.Query().Get("registry")
		asked.set(append(asked.get(), reg))
		items := map[string][]any{
			"public":  {fullAction("slack-a"), fullAction("slack-b")},
			"private": {fullAction("slack-ours"), fullAction("slack-a")}, // slack-a in both: public wins
		}[reg]
		writeJSON(w, 200, map[string]any{"data": items, "page_info": map[string]any{}})
	})
	c := f.client()
	tests := []struct {
		registry Registry
		asked    []string
		keys     []string
		private  []string
	}{
		{RegistryPublic, []string{"public"}, []string{"slack-a", "slack-b"}, nil},
		{RegistryPrivate, []string{"private"}, []string{"slack-ours", "slack-a"}, []string{"slack-ours", "slack-a"}},
		{"", []string{"private", "public"}, []string{"slack-a", "slack-b", "slack-ours"}, []string{"slack-ours"}}, // both at once
		{RegistryAll, nil, []string{"slack-a", "slack-b", "slack-ours"}, []string{"slack-ours"}},                  // cached with ""
	}
	for _, tc := range tests {
		asked.set(nil)
		got, err := c.ListActions(t.Context(), "slack", tc.registry)
		if err != nil {
			t.Fatal(err)
		}
		var private []string
		for _, comp := range got {
			if comp.Private {
				private = append(private, comp.Key)
			}
		}
		if !reflect.DeepEqual(slices.Sorted(slices.Values(asked.get())), tc.asked) || !reflect.DeepEqual(keys(got), tc.keys) || !reflect.DeepEqual(private, tc.private) {
			t.Errorf("registry %q: asked %q, got %v (private %v); want %q, %v (private %v)", tc.registry, asked.get(), keys(got), private, tc.asked, tc.keys, tc.private)
		}
	}
	if _, err := c.ListActions(t.Context(), "slack", "shared"); err == nil || !strings.Contains(err.Error(), "not a registry") {
		t.Errorf("unknown registry: err = %v", err)
	}
}
