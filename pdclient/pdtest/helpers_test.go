package pdtest

// This file holds the helpers the package's tests share: a fake served over
// loopback with a token, direct calls, and decoders of common answers.

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// env is a fake served over loopback under a path prefix, with a valid token.
type env struct {
	t     *testing.T
	fake  *Fake
	base  string // server URL + "/prefix"
	token string
	envHd string // x-pd-environment
}

// newEnv serves a fake under "/prefix" (the fake must route on the /v1/ suffix)
// and fetches a token.
func newEnv(t *testing.T, f *Fake) *env {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	e := &env{t: t, fake: f, base: srv.URL + "/prefix", envHd: "development"}
	e.token = e.fetchToken(f.cfg.ClientID, f.cfg.ClientSecret)
	return e
}

// newTestEnv is newEnv over a fresh New(cfg) fake.
func newTestEnv(t *testing.T, cfg Config) *env { return newEnv(t, New(cfg)) }

func (e *env) fetchToken(id, secret string) string {
	e.t.Helper()
	status, body := e.postForm("/v1/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
	if status != http.StatusOK {
		e.t.Fatalf("token: status %d: %s", status, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	mustJSON(e.t, body, &tok)
	return tok.AccessToken
}

// directToken gets an access token from f by calling it directly, with no
// server in between.
func directToken(t *testing.T, f *Fake) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/oauth/token", strings.NewReader(url.Values{
		"grant_type": {"client_credentials"}, "client_id": {f.cfg.ClientID}, "client_secret": {f.cfg.ClientSecret}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("token: status %d: %s", rec.Code, rec.Body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	mustJSON(t, rec.Body.Bytes(), &tok)
	return tok.AccessToken
}

func (e *env) postForm(path string, v url.Values) (int, []byte) {
	e.t.Helper()
	resp, err := http.PostForm(e.base+path, v)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// do sends a request with the env's token and environment header; body, when
// not nil, is sent as JSON.
func (e *env) do(method, path string, body any) (int, []byte) {
	e.t.Helper()
	resp := e.doResp(method, path, body)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, b
}

func (e *env) doResp(method, path string, body any) *http.Response {
	e.t.Helper()
	resp, err := e.try(method, path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

func (e *env) try(method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	if e.envHd != "" {
		req.Header.Set("x-pd-environment", e.envHd)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return http.DefaultClient.Do(req)
}

// get sends GET and decodes a 200 JSON answer into v.
func (e *env) get(path string, v any) {
	e.t.Helper()
	status, b := e.do(http.MethodGet, path, nil)
	if status != http.StatusOK {
		e.t.Fatalf("GET %s: status %d: %s", path, status, b)
	}
	mustJSON(e.t, b, v)
}

// post sends POST and decodes a 200 JSON answer into v.
func (e *env) post(path string, body, v any) {
	e.t.Helper()
	status, b := e.do(http.MethodPost, path, body)
	if status != http.StatusOK {
		e.t.Fatalf("POST %s: status %d: %s", path, status, b)
	}
	mustJSON(e.t, b, v)
}

func (e *env) project() string { return "/v1/connect/" + e.fake.cfg.ProjectID }

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", truncate(b), err)
	}
}

func truncate(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "..."
	}
	return string(b)
}

// fsReadFile reads a file of the embedded catalog.
func fsReadFile(name string) ([]byte, error) { return fs.ReadFile(CatalogFS(), name) }

// newLoopbackServer serves h on loopback and returns its URL.
func newLoopbackServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// errorMessage decodes {"error": ...}.
func errorMessage(t *testing.T, b []byte) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	mustJSON(t, b, &e)
	if e.Error == "" {
		t.Fatalf("no error message in %s", b)
	}
	return e.Error
}

// app is the app prop value for an account.
func app(id string) map[string]string { return map[string]string{"authProvisionId": id} }

// lv is a withLabel value.
func lv(label string, value any) map[string]any {
	return map[string]any{"__lv": map[string]any{"label": label, "value": value}}
}

// runResult is the decoded body of actions/run.
type runResult struct {
	Exports map[string]any `json:"exports"`
	OS      []struct {
		K   string  `json:"k"`
		TS  float64 `json:"ts"`
		Err struct {
			Name    string `json:"name"`
			Message string `json:"message"`
		} `json:"err"`
	} `json:"os"`
	Ret     json.RawMessage `json:"ret"`
	StashID string          `json:"stash_id"`
}

func (r runResult) errors() []string {
	var out []string
	for _, o := range r.OS {
		if o.K == "error" {
			out = append(out, o.Err.Message)
		}
	}
	return out
}
