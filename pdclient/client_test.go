package pdclient

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNewValidation(t *testing.T) {
	t.Parallel()
	valid := Config{ClientID: "id", ClientSecret: testSecret, ProjectID: "proj_abc", Environment: "production"}
	tests := []struct {
		name       string
		mutate     func(*Config)
		opts       []Option
		wantFields []string // nil: no error
	}{
		{name: "valid", mutate: func(*Config) {}},
		{name: "everything missing", mutate: func(c *Config) { *c = Config{} },
			wantFields: []string{"ClientID", "ClientSecret", "ProjectID", "Environment"}},
		{name: "bad environment", mutate: func(c *Config) { c.Environment = "prod" }, wantFields: []string{"Environment"}},
		{name: "bad project", mutate: func(c *Config) { c.ProjectID = "12345" }, wantFields: []string{"ProjectID"}},
		{name: "bad scheme", mutate: func(c *Config) { c.BaseURL = "ftp://api.example.com" }, wantFields: []string{"BaseURL"}},
		{name: "no host", mutate: func(c *Config) { c.BaseURL = "https://" }, wantFields: []string{"BaseURL"}},
		{name: "credentials in URL", mutate: func(c *Config) { c.BaseURL = "https://u:" + testSecret + "@api.example.com" }, wantFields: []string{"BaseURL"}},
		{name: "negative TTLs", mutate: func(c *Config) { c.CatalogTTL, c.AccountsTTL = -1, -1 }, wantFields: []string{"CatalogTTL", "AccountsTTL"}},
		{name: "negative retry", mutate: func(*Config) {}, opts: []Option{WithRetry(RetryPolicy{MaxAttempts: -1})}, wantFields: []string{"RetryPolicy"}},
		{name: "several at once", mutate: func(c *Config) { c.ClientID, c.Environment, c.BaseURL = "", "staging", "mailto:x" },
			wantFields: []string{"ClientID", "Environment", "BaseURL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tt.mutate(&cfg)
			c, err := New(cfg, tt.opts...)
			if tt.wantFields == nil {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if c.ProjectID() != cfg.ProjectID || c.Environment() != cfg.Environment {
					t.Errorf("ProjectID, Environment = %q, %q", c.ProjectID(), c.Environment())
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("New error = %v, want *ConfigError", err)
			}
			var got []string
			for _, p := range ce.Problems {
				got = append(got, p.Field)
			}
			if strings.Join(got, ",") != strings.Join(tt.wantFields, ",") {
				t.Errorf("fields = %v, want %v (error %q)", got, tt.wantFields, err)
			}
			for _, f := range tt.wantFields {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("error %q does not name %s", err, f)
				}
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error reveals the secret: %q", err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	c, err := New(Config{ClientID: "id", ClientSecret: "s", ProjectID: "proj_x", Environment: "development"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.base.String(); got != DefaultBaseURL+"/" {
		t.Errorf("base = %q", got)
	}
	if c.userAgent != "pipedream-mcp" {
		t.Errorf("user agent = %q", c.userAgent)
	}
	if c.cfg.CatalogTTL != 10*time.Minute || c.cfg.AccountsTTL != 30*time.Second {
		t.Errorf("TTLs = %v, %v", c.cfg.CatalogTTL, c.cfg.AccountsTTL)
	}
	if c.retry != defaultRetryPolicy {
		t.Errorf("retry = %+v", c.retry)
	}
	if got := c.tokens.conf.TokenURL; got != DefaultBaseURL+"/v1/oauth/token" {
		t.Errorf("token URL = %q", got)
	}
}

// TestRequestHeaders checks what every Connect call carries, on a GET and on a
// POST, and that the base URL's path prefix is kept (the fake fails any
// request outside it).
func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	check := func(r *http.Request, wantBody bool) {
		t.Helper()
		if got := r.Header.Get("Authorization"); !strings.HasPrefix(got, "Bearer at-PLANTED-access-token-") {
			t.Errorf("Authorization = %q", got)
		}
		if got := r.Header.Get("User-Agent"); got != "pipedream-mcp/1.2.3" {
			t.Errorf("User-Agent = %q", got)
		}
		if got := r.Header.Get("Accept"); got != "application/json" {
			t.Errorf("Accept = %q", got)
		}
		ct := r.Header.Get("Content-Type")
		if wantBody && ct != "application/json" {
			t.Errorf("Content-Type = %q, want application/json", ct)
		}
		if !wantBody && ct != "" {
			t.Errorf("Content-Type on a GET = %q", ct)
		}
	}
	f.handle("GET /v1/connect/proj_test1/accounts/{id}", func(w http.ResponseWriter, r *http.Request) {
		check(r, false)
		writeJSON(w, 200, `{"id":"apn_1","healthy":true}`)
	})
	f.handle("POST /v1/connect/proj_test1/actions/run", func(w http.ResponseWriter, r *http.Request) {
		check(r, true)
		writeJSON(w, 200, `{"exports":{"$summary":"ok"}}`)
	})
	var tokenUA box[string]
	f.tokenHook = func(w http.ResponseWriter, r *http.Request) bool {
		tokenUA.set(r.Header.Get("User-Agent"))
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("token Content-Type = %q", ct)
		}
		return false
	}
	c := f.client()
	if _, err := c.GetAccount(t.Context(), "apn_1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RunAction(t.Context(), RunActionRequest{ID: "a-b", ExternalUserID: "u"}); err != nil {
		t.Fatal(err)
	}
	if got := tokenUA.get(); got != "pipedream-mcp/1.2.3" {
		t.Errorf("token request User-Agent = %q", got)
	}
}

func TestPathSegmentsAreEscaped(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	var gotKey box[string]
	f.handle("GET /v1/connect/proj_test1/actions/{key}", func(w http.ResponseWriter, r *http.Request) {
		gotKey.set(r.PathValue("key"))
		writeJSON(w, 200, `{"data":{"key":"x","name":"X","version":"1","configurable_props":[]}}`)
	})
	c := f.client()
	if _, err := c.GetAction(t.Context(), "a/b?c", ""); err != nil {
		t.Fatal(err)
	}
	if got := gotKey.get(); got != "a/b?c" {
		t.Errorf("key on the server = %q, want a/b?c", got)
	}
	if _, err := c.GetAction(t.Context(), "..", ""); err == nil {
		t.Error("GetAction(..) succeeded, want an error")
	}
}

func TestDebugLogLine(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.handle("GET /v1/connect/proj_test1/accounts/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"id":"apn_1"}`)
	})
	logger, buf := debugLogger()
	c := f.client(WithLogger(logger))
	if _, err := c.GetAccount(t.Context(), "apn_1"); err != nil {
		t.Fatal(err)
	}
	var line string
	for l := range strings.Lines(buf.String()) {
		if strings.Contains(l, `msg="pipedream request"`) {
			line = l
		}
	}
	for _, want := range []string{"method=GET", "path=/v1/connect/proj_test1/accounts/apn_1", "status=200", "duration=", "attempt=1"} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %q", line, want)
		}
	}
}

func TestStatsCountRequests(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.handle("GET /v1/connect/proj_test1/accounts/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"id":"apn_1"}`)
	})
	c := f.client()
	for range 3 {
		if _, err := c.GetAccount(t.Context(), "apn_1"); err != nil {
			t.Fatal(err)
		}
	}
	if s := c.Stats(); s.Requests != 3 || s.TokenFetches != 1 || s.Retries != 0 {
		t.Errorf("Stats = %+v, want 3 requests, 1 token fetch, 0 retries", s)
	}
}
