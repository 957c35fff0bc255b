package pdtest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// routeCase is one request to the fake, sent directly (no server, so any
// method and path goes through as written).
type routeCase struct {
	method, path string
	endpoint     string // counted under; "" for none
	status       int
	body         string // the whole body, when set
	allow        string // the Allow header of a 405
}

func (c routeCase) check(t *testing.T, f *Fake, token string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Method = c.method
	req.URL.Path = c.path
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Pd-Environment", "development")
	before := f.Count(EndpointAll)
	counted := 0
	if c.endpoint != "" {
		counted = f.Count(c.endpoint)
	}
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, req)
	if rec.Code != c.status {
		t.Errorf("%s %s: status %d, want %d: %s", c.method, c.path, rec.Code, c.status, rec.Body)
	}
	if c.body != "" && strings.TrimSpace(rec.Body.String()) != c.body {
		t.Errorf("%s %s: body %s, want %s", c.method, c.path, rec.Body, c.body)
	}
	if got := rec.Header().Get("Allow"); got != c.allow {
		t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("%s %s: Content-Type %q", c.method, c.path, ct)
	}
	switch {
	case c.endpoint == "" && f.Count(EndpointAll) != before:
		t.Errorf("%s %s: counted, want no endpoint", c.method, c.path)
	case c.endpoint != "" && f.Count(c.endpoint) != counted+1:
		t.Errorf("%s %s: not counted under %s", c.method, c.path, c.endpoint)
	}
}

const (
	notFoundBody         = `{"error":"not found"}`
	methodNotAllowedBody = `{"error":"method not allowed"}`
	projectNotFoundBody  = `{"error":"project not found"}`
)

func TestRouteTable(t *testing.T) {
	t.Parallel()
	f := New(Config{ProjectID: "proj_abc"})
	token := directToken(t, f)
	p := "/v1/connect/proj_abc"
	routes := []struct {
		method, path, endpoint string
		status                 int // with the right method, an empty body and a valid token
	}{
		{http.MethodPost, "/v1/oauth/token", EndpointToken, 400},
		{http.MethodGet, "/v1/connect/apps", EndpointApps, 200},
		{http.MethodGet, "/v1/connect/apps/slack", EndpointApp, 200},
		{http.MethodGet, p + "/actions", EndpointActions, 200},
		{http.MethodGet, p + "/components", EndpointActions, 200},
		{http.MethodGet, p + "/actions/slack-list-channels", EndpointAction, 200},
		{http.MethodGet, p + "/components/slack-list-channels", EndpointAction, 200},
		{http.MethodPost, p + "/actions/configure", EndpointConfigure, 400},
		{http.MethodPost, p + "/components/configure", EndpointConfigure, 400},
		{http.MethodPost, p + "/actions/props", EndpointProps, 400},
		{http.MethodPost, p + "/components/props", EndpointProps, 400},
		{http.MethodPost, p + "/actions/run", EndpointRun, 400},
		{http.MethodGet, p + "/accounts", EndpointAccounts, 200},
		{http.MethodGet, p + "/accounts/apn_nope", EndpointAccount, 404},
		{http.MethodPost, p + "/tokens", EndpointConnectTokens, 400},
	}
	other := map[string]string{http.MethodGet: http.MethodPost, http.MethodPost: http.MethodGet}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			for _, prefix := range []string{"", "/mounted/under"} {
				routeCase{rt.method, prefix + rt.path, rt.endpoint, rt.status, "", ""}.check(t, f, token)
				routeCase{rt.method, prefix + rt.path + "/", rt.endpoint, rt.status, "", ""}.check(t, f, token)
				// A wrong method is counted (and faulted) under the endpoint.
				for _, m := range []string{other[rt.method], http.MethodHead, http.MethodPut, http.MethodDelete, "PROPFIND", http.MethodConnect} {
					routeCase{m, prefix + rt.path, rt.endpoint, 405, methodNotAllowedBody, rt.method}.check(t, f, token)
				}
			}
		})
	}
}

func TestRouteEdges(t *testing.T) {
	t.Parallel()
	f := New(Config{ProjectID: "proj_abc"})
	token := directToken(t, f)
	for _, c := range []routeCase{
		// No endpoint: 404, never a ServeMux redirect or text answer.
		{"GET", "/", "", 404, notFoundBody, ""},
		{"GET", "/connect/apps", "", 404, notFoundBody, ""},
		{"GET", "/v1", "", 404, notFoundBody, ""},
		{"GET", "/v1/", "", 404, notFoundBody, ""},
		{"GET", "/v1/connect", "", 404, notFoundBody, ""},
		{"GET", "/v1/connect/proj_abc", "", 404, notFoundBody, ""},
		{"POST", "/v1/connect/proj_abc", "", 404, notFoundBody, ""},
		{"GET", "/v1/connect/proj_abc/nothing", "", 404, notFoundBody, ""},
		{"GET", "/v1/connect/proj_abc/triggers", "", 404, notFoundBody, ""},
		{"GET", "/v1/connect/proj_abc/actions/a/b", "", 404, notFoundBody, ""},
		{"GET", "/v1/connect/proj_abc//actions", "", 404, notFoundBody, ""},
		{"GET", "/v1/connect/apps/slack/x", "", 404, notFoundBody, ""},
		{"GET", "/v1/oauth/token/x", "", 404, notFoundBody, ""},
		// Slashes around the path after /v1/ do not matter.
		{"GET", "/v1//connect/apps//", EndpointApps, 200, "", ""},
		// apps/{app} wins the paths it matches; longer ones are project paths.
		{"GET", "/v1/connect/apps/actions", EndpointApp, 404, `{"error":"app not found"}`, ""},
		{"POST", "/v1/connect/apps/tokens", EndpointApp, 405, methodNotAllowedBody, "GET"},
		{"POST", "/v1/connect/apps/actions/run", EndpointRun, 404, projectNotFoundBody, ""},
		// Literal segments win over {key}, whatever the method.
		{"GET", "/v1/connect/proj_abc/actions/run", EndpointRun, 405, methodNotAllowedBody, "POST"},
		{"GET", "/v1/connect/proj_abc/components/configure", EndpointConfigure, 405, methodNotAllowedBody, "POST"},
		{"GET", "/v1/connect/proj_abc/components/run", EndpointAction, 404, `{"error":"component \"run\" not found"}`, ""},
		// Empty, dot and escaped-slash segments are taken as they are.
		{"GET", "/v1/connect//actions", EndpointActions, 404, projectNotFoundBody, ""},
		{"GET", "/v1/connect/./actions", EndpointActions, 404, projectNotFoundBody, ""},
		{"GET", "/v1/connect/apps/..", EndpointApp, 404, `{"error":"app not found"}`, ""},
		{"GET", "/v1/connect/proj_abc/actions/.", EndpointAction, 404, `{"error":"component \".\" not found"}`, ""},
		{"GET", "/v1/connect/proj_abc/accounts/a%2Fb", "", 404, notFoundBody, ""},
		{"GET", "/v1/connect/other/actions", EndpointActions, 404, projectNotFoundBody, ""},
	} {
		if strings.Contains(c.path, "%") {
			// Set the decoded path, as the server does.
			c.path = strings.ReplaceAll(c.path, "%2F", "/")
		}
		c.check(t, f, token)
	}
}

func TestWrongMethodTakesFault(t *testing.T) {
	t.Parallel()
	f := New(Config{})
	f.InjectFault(Fault{Endpoint: EndpointRun, Status: 503, Count: 1})
	req := httptest.NewRequest(http.MethodGet, "/v1/connect/"+TestProjectID+"/actions/run", nil)
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, req)
	if rec.Code != 503 || f.Count(EndpointRun) != 1 {
		t.Errorf("GET actions/run under a run fault: status %d, Count(run) %d; want 503, 1", rec.Code, f.Count(EndpointRun))
	}
	rec = httptest.NewRecorder()
	f.ServeHTTP(rec, req)
	if rec.Code != 405 || rec.Header().Get("Allow") != "POST" {
		t.Errorf("after the fault: status %d, Allow %q; want 405, POST", rec.Code, rec.Header().Get("Allow"))
	}
}
