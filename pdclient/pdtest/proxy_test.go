package pdtest

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// proxyPath is the proxy path of target for user and account.
func (e *env) proxyPath(target, user, account string) string {
	q := url.Values{"external_user_id": {user}, "account_id": {account}}
	return e.project() + "/proxy/" + base64.RawURLEncoding.EncodeToString([]byte(target)) + "?" + q.Encode()
}

func TestProxyChecksAndGitHubAPI(t *testing.T) {
	f := New(Config{})
	gh := f.AddAccount(Account{ExternalUserID: "u1", App: "github", Name: "Ada L", Healthy: true})
	sick := f.AddAccount(Account{ExternalUserID: "u1", App: "github", Healthy: false})
	sl := f.AddAccount(Account{ExternalUserID: "u1", App: "slack", Healthy: true})
	e := newEnv(t, f)
	tests := []struct {
		name, method, target, user, account string
		body                                any
		status                              int
		want                                string // in the body
	}{
		{"user", "GET", "https://api.github.com/user", "u1", gh.ID, nil, 200, `"login":"ada-l"`},
		{"issues", "GET", "https://api.github.com/repos/octo-org/api/issues?state=all", "u1", gh.ID, nil, 200, `"Document the rate limits"`},
		{"create", "POST", "https://api.github.com/repos/octo-org/web/issues", "u1", gh.ID, map[string]any{"title": "New"}, 201, `"number":3`},
		{"no title", "POST", "https://api.github.com/repos/octo-org/web/issues", "u1", gh.ID, map[string]any{}, 422, `"Validation Failed"`},
		{"update", "PATCH", "https://api.github.com/repos/octo-org/api/issues/1", "u1", gh.ID, map[string]any{"state": "closed"}, 200, `"state":"closed"`},
		{"unknown repo", "GET", "https://api.github.com/repos/octo-org/nope", "u1", gh.ID, nil, 404, `"Not Found"`},
		{"unknown route", "PUT", "https://api.github.com/user", "u1", gh.ID, map[string]any{}, 404, `"Not Found"`},
		{"another domain", "GET", "https://evil.example.com/user", "u1", gh.ID, nil, 403, "not allowed for app github"},
		{"http", "GET", "http://api.github.com/user", "u1", gh.ID, nil, 400, "not an absolute https URL"},
		{"another user", "GET", "https://api.github.com/user", "u2", gh.ID, nil, 404, "not found for external user"},
		{"unknown account", "GET", "https://api.github.com/user", "u1", "apn_nope", nil, 404, "not found"},
		{"unhealthy account", "GET", "https://api.github.com/user", "u1", sick.ID, nil, 400, "unhealthy"},
		{"app without the proxy", "GET", "https://slack.com/api/auth.test", "u1", sl.ID, nil, 403, "not enabled for app slack"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.do(tc.method, e.proxyPath(tc.target, tc.user, tc.account), tc.body)
			if status != tc.status || !strings.Contains(string(body), tc.want) {
				t.Errorf("%s %s = %d %s, want %d with %q", tc.method, tc.target, status, truncate(body), tc.status, tc.want)
			}
		})
	}
	recs := f.ProxyRequests()
	if len(recs) != 7 { // the requests that passed the proxy's checks
		t.Fatalf("%d proxy records, want 7", len(recs))
	}
	if r := recs[2]; r.Method != "POST" || r.ContentType != "application/json" || !strings.Contains(r.Body, `"New"`) || r.AccountID != gh.ID {
		t.Errorf("record of the create: %+v", r)
	}
}

func TestProxyForwardsPrefixedHeaders(t *testing.T) {
	f := New(Config{})
	gh := f.AddAccount(Account{ExternalUserID: "u1", App: "github", Healthy: true})
	e := newEnv(t, f)
	req, err := http.NewRequestWithContext(t.Context(), "GET", e.base+e.proxyPath("https://api.github.com/user", "u1", gh.ID), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("x-pd-environment", "development")
	req.Header.Set("x-pd-proxy-accept", "application/vnd.github+json")
	req.Header.Set("Accept", "text/html") // Pipedream's, not the app's
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := f.ProxyRequests()[0].Headers
	if len(got) != 1 || got["accept"] != "application/vnd.github+json" {
		t.Errorf("forwarded headers = %v, want only accept", got)
	}
}

func TestActionsRegistryFilter(t *testing.T) {
	e := newTestEnv(t, Config{})
	for _, tc := range []struct {
		registry   string
		status     int
		private    bool // the private action is listed
		publicKeys bool // public actions are listed
	}{
		{"", 200, true, true},
		{"all", 200, true, true},
		{"public", 200, false, true},
		{"private", 200, true, false},
		{"shared", 400, false, false},
	} {
		status, body := e.do("GET", e.project()+"/actions?app=github&registry="+tc.registry, nil)
		if status != tc.status {
			t.Errorf("registry %q: status %d, want %d", tc.registry, status, tc.status)
			continue
		}
		if status != 200 {
			continue
		}
		var page struct {
			Data []struct{ Key string } `json:"data"`
		}
		mustJSON(t, body, &page)
		private, public := false, false
		for _, a := range page.Data {
			if a.Key == "github-acme-triage-issue" {
				private = true
			} else {
				public = true
			}
		}
		if private != tc.private || public != tc.publicKeys {
			t.Errorf("registry %q: private %v public %v, want %v %v", tc.registry, private, public, tc.private, tc.publicKeys)
		}
	}
}

func TestFileStashRunAndDownload(t *testing.T) {
	f := New(Config{})
	acct := f.AddAccount(Account{ExternalUserID: "u1", App: "pd_edge", Healthy: true})
	e := newEnv(t, f)
	var out map[string]any
	e.post(e.project()+"/actions/run", map[string]any{"id": "pd_edge-upload-file", "external_user_id": "u1", "stash_id": "NEW",
		"configured_props": map[string]any{"pd_edge": app(acct.ID), "file": "a.pdf"}}, &out)
	exports, _ := out["exports"].(map[string]any)
	ups, _ := exports["$filestash_uploads"].([]any)
	if len(ups) != 2 || out["stash_id"] == nil {
		t.Fatalf("run with a stash: %v", out)
	}
	first, _ := ups[0].(map[string]any)
	key, _ := first["s3Key"].(string)
	if first["localPath"] != "/tmp/receipt.txt" || !strings.HasPrefix(first["get_url"].(string), "https://") {
		t.Errorf("upload entry %v", first)
	}
	resp := e.doResp("GET", e.project()+"/file_stash/download?s3_key="+url.QueryEscape(key), nil)
	defer resp.Body.Close()
	var buf strings.Builder
	_, _ = io.Copy(&buf, resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain" || !strings.Contains(buf.String(), "file: a.pdf") {
		t.Errorf("download = %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), buf.String())
	}
	if status, _ := e.do("GET", e.project()+"/file_stash/download?s3_key=nope", nil); status != 404 {
		t.Errorf("unknown key: %d, want 404", status)
	}
}
