package pdtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

func TestTokenRequestForms(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, Config{TokenTTL: 90 * time.Second})
	jsonBody := func(id, secret, grant string) *http.Request {
		b, _ := json.Marshal(map[string]string{"grant_type": grant, "client_id": id, "client_secret": secret})
		r, _ := http.NewRequest(http.MethodPost, e.base+"/v1/oauth/token", bytes.NewReader(b))
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	form := func(id, secret, grant string) *http.Request {
		v := url.Values{"grant_type": {grant}, "client_id": {id}, "client_secret": {secret}}
		r, _ := http.NewRequest(http.MethodPost, e.base+"/v1/oauth/token", strings.NewReader(v.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	basic := func(id, secret, grant string) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, e.base+"/v1/oauth/token", strings.NewReader("grant_type="+grant))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		return r
	}
	tests := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantError  string
	}{
		{"json", jsonBody(TestClientID, TestClientSecret, "client_credentials"), 200, ""},
		{"form", form(TestClientID, TestClientSecret, "client_credentials"), 200, ""},
		{"basic", basic(TestClientID, TestClientSecret, "client_credentials"), 200, ""},
		{"json wrong secret", jsonBody(TestClientID, "nope", "client_credentials"), 401, "invalid_client"},
		{"form wrong id", form("someone", TestClientSecret, "client_credentials"), 401, "invalid_client"},
		{"no credentials", form("", "", "client_credentials"), 401, "invalid_client"},
		{"wrong grant", form(TestClientID, TestClientSecret, "password"), 400, "unsupported_grant_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.wantStatus, b)
			}
			if tc.wantError != "" {
				if got := errorMessage(t, b); got != tc.wantError {
					t.Errorf("error %q, want %q", got, tc.wantError)
				}
				return
			}
			var tok map[string]any
			mustJSON(t, b, &tok)
			if tok["token_type"] != "Bearer" || tok["expires_in"] != float64(90) || tok["access_token"] == "" {
				t.Errorf("token response %s", b)
			}
			if strings.Contains(string(b), TestClientSecret) {
				t.Error("the token response echoes the client secret")
			}
		})
	}
	if got := e.fake.TokenRequests(TestClientSecret); got < 4 {
		t.Errorf("TokenRequests = %d, want at least 4", got)
	}
	if got := e.fake.TokenRequests("nope"); got != 1 {
		t.Errorf("TokenRequests(wrong secret) = %d, want 1", got)
	}
}

func TestAuthEnvironmentAndProject(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, Config{ProjectID: "proj_abc"})
	tests := []struct {
		name       string
		token      string
		envHd      string
		path       string
		wantStatus int
	}{
		{"ok", e.token, "development", "/v1/connect/proj_abc/actions?app=slack", 200},
		{"production ok", e.token, "production", "/v1/connect/proj_abc/accounts", 200},
		{"no token", "", "development", "/v1/connect/proj_abc/actions?app=slack", 401},
		{"unknown token", "pdat_forged", "development", "/v1/connect/proj_abc/actions?app=slack", 401},
		{"no environment", e.token, "", "/v1/connect/proj_abc/actions?app=slack", 400},
		{"bad environment", e.token, "staging", "/v1/connect/proj_abc/actions?app=slack", 400},
		{"other project", e.token, "development", "/v1/connect/proj_other/actions?app=slack", 404},
		{"apps need no environment", e.token, "", "/v1/connect/apps", 200},
		{"apps need a token", "", "", "/v1/connect/apps", 401},
		{"app needs a token", "", "", "/v1/connect/apps/slack", 401},
		{"unknown path", e.token, "development", "/v1/connect/proj_abc/nothing-here", 404},
		{"no v1", e.token, "development", "/connect/apps", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := *e
			c.t, c.token, c.envHd = t, tc.token, tc.envHd
			status, b := c.do(http.MethodGet, tc.path, nil)
			if status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", status, tc.wantStatus, b)
			}
			if status != 200 {
				msg := errorMessage(t, b)
				if tc.name == "other project" && msg != "project not found" {
					t.Errorf("error %q, want %q", msg, "project not found")
				}
			}
		})
	}
	if status, _ := e.do(http.MethodPost, "/v1/connect/proj_abc/actions?app=slack", nil); status != http.StatusMethodNotAllowed {
		t.Errorf("POST on a GET endpoint: status %d, want 405", status)
	}
}

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	t.Run("ttl", func(t *testing.T) {
		t.Parallel()
		// The bubble's clock moves only when the test sleeps: the token is
		// checked just before and exactly at its expiry. The fake is called
		// directly, as a bubble cannot wait on real network I/O.
		synctest.Test(t, func(t *testing.T) {
			f := New(Config{TokenTTL: 500 * time.Millisecond})
			token := directToken(t, f)
			apps := func() int {
				req := httptest.NewRequest(http.MethodGet, "/v1/connect/apps", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				rec := httptest.NewRecorder()
				f.ServeHTTP(rec, req)
				return rec.Code
			}
			if status := apps(); status != 200 {
				t.Fatalf("fresh token: status %d", status)
			}
			time.Sleep(499 * time.Millisecond)
			if status := apps(); status != 200 {
				t.Fatalf("1ms before expiry: status %d, want 200", status)
			}
			time.Sleep(time.Millisecond)
			if status := apps(); status != 401 {
				t.Fatalf("expired token: status %d, want 401", status)
			}
		})
	})
	t.Run("ExpireTokens", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, Config{})
		e.fake.ExpireTokens()
		if status, _ := e.do(http.MethodGet, "/v1/connect/apps", nil); status != 401 {
			t.Fatalf("after ExpireTokens: status %d, want 401", status)
		}
		e.token = e.fetchToken(TestClientID, TestClientSecret)
		if status, _ := e.do(http.MethodGet, "/v1/connect/apps", nil); status != 200 {
			t.Fatalf("new token: status %d, want 200", status)
		}
	})
}

func TestSecretRotation(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, Config{ClientID: "cid", ClientSecret: "old-secret"})
	oldToken := e.token
	e.fake.AcceptSecret("cid", "new-secret")
	e.fake.RevokeSecret("cid", "old-secret")
	if status, b := e.postForm("/v1/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {"cid"}, "client_secret": {"old-secret"}}); status != 401 || errorMessage(t, b) != "invalid_client" {
		t.Fatalf("revoked secret: status %d %s, want 401 invalid_client", status, b)
	}
	e.fetchToken("cid", "new-secret")
	if got := e.fake.TokenRequests("old-secret"); got != 2 {
		t.Errorf("TokenRequests(old) = %d, want 2", got)
	}
	if got := e.fake.TokenRequests("new-secret"); got != 1 {
		t.Errorf("TokenRequests(new) = %d, want 1", got)
	}
	e.token = oldToken
	if status, _ := e.do(http.MethodGet, "/v1/connect/apps", nil); status != 200 {
		t.Errorf("a token issued before the rotation: status %d, want 200 until it expires", status)
	}
}

type appsPage struct {
	PageInfo pdclient.PageInfo `json:"page_info"`
	Data     []pdclient.App    `json:"data"`
}

func TestApps(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, Config{PageSize: 4})
	var all []string
	after := ""
	for range 10 {
		var page appsPage
		e.get("/v1/connect/apps?limit=100&after="+url.QueryEscape(after), &page)
		if len(page.Data) > 4 {
			t.Fatalf("page of %d apps, want at most PageSize 4", len(page.Data))
		}
		if page.PageInfo.TotalCount != len(e.fake.AllApps()) || page.PageInfo.Count != len(page.Data) {
			t.Errorf("page_info %+v", page.PageInfo)
		}
		for _, a := range page.Data {
			all = append(all, a.NameSlug)
		}
		if after = page.PageInfo.EndCursor; after == "" {
			break
		}
	}
	if !slices.Equal(all, e.fake.AllApps()) {
		t.Errorf("paged apps %v, want %v", all, e.fake.AllApps())
	}

	for _, tc := range []struct{ q, want string }{{"sheet", "google_sheets"}, {"GOOGLE%20SHE", "google_sheets"}, {"airtable", "airtable_oauth"}, {"edge", "pd_edge"}, {"zendesk", "zendesk"}} {
		var page appsPage
		e.get("/v1/connect/apps?has_actions=true&q="+tc.q, &page)
		if len(page.Data) != 1 || page.Data[0].NameSlug != tc.want {
			t.Errorf("q=%s: %+v, want only %s", tc.q, page.Data, tc.want)
		}
	}

	var one struct{ Data pdclient.App }
	e.get("/v1/connect/apps/slack", &one)
	if one.Data.Name != "Slack" || one.Data.ID != "app_OkrhR1" || one.Data.AuthType != "oauth" {
		t.Errorf("app: %+v", one.Data)
	}
	e.get("/v1/connect/apps/app_OkrhR1", &one)
	if one.Data.NameSlug != "slack" {
		t.Errorf("app by id: %+v", one.Data)
	}
	for path, want := range map[string]int{
		"/v1/connect/apps/nope":            404,
		"/v1/connect/apps?limit=abc":       400,
		"/v1/connect/apps?after=!!bad!!":   400,
		"/v1/connect/apps?after=" + "eHl6": 400, // a well-formed cursor of no app
	} {
		if status, b := e.do(http.MethodGet, path, nil); status != want {
			t.Errorf("%s: status %d, want %d: %s", path, status, want, b)
		}
	}
}

type actionsPage struct {
	PageInfo pdclient.PageInfo    `json:"page_info"`
	Data     []pdclient.Component `json:"data"`
}

func TestActionsPagination(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, Config{PageSize: 25})
	seen := map[string]bool{}
	after, pages := "", 0
	for {
		var page actionsPage
		e.get(e.project()+"/actions?app=hubspot&limit=1000&after="+url.QueryEscape(after), &page)
		pages++
		if len(page.Data) > 25 {
			t.Fatalf("page of %d, want the fake's cap of 25 whatever limit asks", len(page.Data))
		}
		for _, c := range page.Data {
			if seen[c.Key] {
				t.Fatalf("%s listed twice", c.Key)
			}
			seen[c.Key] = true
			if !c.PropsLoaded || len(c.ConfigurableProps) == 0 {
				t.Errorf("%s: list item without configurable_props", c.Key)
			}
		}
		if after = page.PageInfo.EndCursor; after == "" {
			break
		}
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
	}
	if len(seen) <= 100 || pages < 5 {
		t.Errorf("%d hubspot actions over %d pages", len(seen), pages)
	}

	var small actionsPage
	e.get(e.project()+"/actions?app=hubspot&limit=3", &small)
	if len(small.Data) != 3 || small.PageInfo.TotalCount != len(seen) || small.PageInfo.EndCursor == "" {
		t.Errorf("limit=3: %d items, page_info %+v", len(small.Data), small.PageInfo)
	}
	var q actionsPage
	e.get(e.project()+"/components?app=slack&q=message", &q)
	for _, c := range q.Data {
		if !strings.Contains(strings.ToLower(c.Key+c.Name), "message") {
			t.Errorf("q=message returned %s", c.Key)
		}
	}
	if len(q.Data) < 3 || q.PageInfo.TotalCount != len(q.Data) || q.PageInfo.EndCursor == "" {
		t.Errorf("q=message: %d items, page_info %+v (want total_count and an end_cursor on the last page, as the API sends)", len(q.Data), q.PageInfo)
	}
	var triggers actionsPage
	e.get(e.project()+"/components?app=slack&component_type=trigger", &triggers)
	if len(triggers.Data) != 0 {
		t.Errorf("triggers: %d, want none", len(triggers.Data))
	}
	if status, _ := e.do(http.MethodGet, e.project()+"/actions?app=nope", nil); status != 404 {
		t.Errorf("unknown app: status %d, want 404", status)
	}

	e.fake.SetSlimActionLists(true)
	var slim actionsPage
	e.get(e.project()+"/actions?app=slack", &slim)
	if len(slim.Data) == 0 || slim.Data[0].PropsLoaded || slim.Data[0].Version == "" {
		t.Errorf("slim list item: %+v", slim.Data[0])
	}
}

// TestActionServedAsCataloged checks that a single read is exactly the catalog's
// component: no fake-only key leaks.
func TestActionServedAsCataloged(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, Config{})
	b, err := fsReadAction("google_sheets", "google_sheets-add-single-row")
	if err != nil {
		t.Fatal(err)
	}
	status, got := e.do(http.MethodGet, e.project()+"/actions/google_sheets-add-single-row", nil)
	if status != 200 {
		t.Fatalf("status %d: %s", status, got)
	}
	var wrapped struct{ Data any }
	mustJSON(t, got, &wrapped)
	var want any
	mustJSON(t, b, &want)
	gotJSON, _ := json.Marshal(wrapped.Data)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("served component differs from the catalog:\n got %s\nwant %s", gotJSON, wantJSON)
	}
	for _, leak := range []string{"paging", "by_value", "depends_on", "\"runs\"", "\"fake\""} {
		if strings.Contains(string(got), leak) {
			t.Errorf("response leaks fake-only key %s", leak)
		}
	}
	for path, want := range map[string]int{
		e.project() + "/components/google_sheets-add-single-row":            200,
		e.project() + "/actions/google_sheets-add-single-row?version=2.1.4": 200,
		e.project() + "/actions/google_sheets-add-single-row?version=9.9.9": 404,
		e.project() + "/actions/google_sheets-no-such-action":               404,
	} {
		if status, b := e.do(http.MethodGet, path, nil); status != want {
			t.Errorf("%s: status %d, want %d: %s", path, status, want, b)
		}
	}
}

// fsReadAction returns one action of a catalog file as raw JSON.
func fsReadAction(slug, key string) ([]byte, error) {
	b, err := fsReadFile(slug + ".json")
	if err != nil {
		return nil, err
	}
	var file struct{ Actions []json.RawMessage }
	if err := json.Unmarshal(b, &file); err != nil {
		return nil, err
	}
	for _, raw := range file.Actions {
		var k struct{ Key string }
		_ = json.Unmarshal(raw, &k)
		if k.Key == key {
			return raw, nil
		}
	}
	return nil, io.EOF
}

type accountsPage struct {
	PageInfo pdclient.PageInfo  `json:"page_info"`
	Data     []pdclient.Account `json:"data"`
}

func TestAccounts(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, Config{PageSize: 2})
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for i, a := range []Account{
		{ID: "apn_u1_slack_a", ExternalUserID: "u1", App: "slack", Name: "A", Healthy: true},
		{ID: "apn_u1_slack_b", ExternalUserID: "u1", App: "slack", Healthy: false},
		{ID: "apn_u1_slack_c", ExternalUserID: "u1", App: "slack", Name: "C", Healthy: true},
		{ID: "apn_u1_github", ExternalUserID: "u1", App: "github", Healthy: true},
		{ID: "apn_u2_slack", ExternalUserID: "u2", App: "slack", Healthy: true},
		{ID: "apn_u1_slack_prod", ExternalUserID: "u1", App: "slack", Environment: "production", Healthy: true},
	} {
		a.CreatedAt = base.Add(time.Duration(i) * time.Hour)
		e.fake.AddAccount(a)
	}
	var ids []string
	after := ""
	for {
		var page accountsPage
		e.get(e.project()+"/accounts?external_user_id=u1&app=slack&include_credentials=false&after="+url.QueryEscape(after), &page)
		if len(page.Data) > 2 {
			t.Fatalf("page of %d, want at most 2", len(page.Data))
		}
		for _, a := range page.Data {
			ids = append(ids, a.ID)
			if a.AppSlug() != "slack" || a.App.Name != "Slack" || a.ExternalID != "u1" {
				t.Errorf("account %+v", a)
			}
		}
		if after = page.PageInfo.EndCursor; after == "" {
			break
		}
	}
	if want := []string{"apn_u1_slack_a", "apn_u1_slack_b", "apn_u1_slack_c"}; !slices.Equal(ids, want) {
		t.Errorf("development slack accounts of u1: %v, want %v (oldest first, no production, no other user)", ids, want)
	}

	status, raw := e.do(http.MethodGet, e.project()+"/accounts/apn_u1_slack_b", nil)
	if status != 200 {
		t.Fatalf("get account: %d %s", status, raw)
	}
	var bare map[string]any
	mustJSON(t, raw, &bare)
	if _, wrapped := bare["data"]; wrapped || bare["id"] != "apn_u1_slack_b" || bare["healthy"] != false || bare["name"] != nil {
		t.Errorf("get account: want a bare object with a null name: %s", raw)
	}
	if _, has := bare["credentials"]; has {
		t.Error("an account carries credentials")
	}
	if status, _ := e.do(http.MethodGet, e.project()+"/accounts/apn_u1_slack_prod", nil); status != 404 {
		t.Errorf("a production account read in development: status %d, want 404", status)
	}
	e.envHd = "production"
	var prod accountsPage
	e.get(e.project()+"/accounts?external_user_id=u1", &prod)
	if len(prod.Data) != 1 || prod.Data[0].ID != "apn_u1_slack_prod" {
		t.Errorf("production accounts: %+v", prod.Data)
	}
	e.envHd = "development"

	if e.fake.CredentialsRequested() != 0 {
		t.Fatal("include_credentials=false counted as a credentials request")
	}
	e.get(e.project()+"/accounts?include_credentials=true", &prod)
	if e.fake.CredentialsRequested() != 1 {
		t.Errorf("CredentialsRequested = %d, want 1", e.fake.CredentialsRequested())
	}

	e.fake.SetLegacyAccountsShape(true)
	var legacy struct {
		Data struct{ Accounts []pdclient.Account } `json:"data"`
	}
	e.get(e.project()+"/accounts?external_user_id=u2", &legacy)
	if len(legacy.Data.Accounts) != 1 || legacy.Data.Accounts[0].ID != "apn_u2_slack" {
		t.Errorf("legacy shape: %+v", legacy)
	}

	got := e.fake.AddAccount(Account{ExternalUserID: "u3", App: "notion", Healthy: true})
	if !strings.HasPrefix(got.ID, "apn_") || got.AppSlug() != "notion" || !got.Healthy || got.Created().IsZero() {
		t.Errorf("AddAccount returned %+v", got)
	}
}

func TestConnectTokensAndCompleteConnect(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, Config{})
	events := make(chan map[string]any, 1)
	hook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		_ = json.NewDecoder(r.Body).Decode(&ev)
		events <- ev
	})
	hookSrv := newLoopbackServer(t, hook)

	var tok struct {
		Token, ExpiresAt, ConnectLinkURL string
	}
	status, b := e.do(http.MethodPost, e.project()+"/tokens", map[string]any{
		"external_user_id": "u1", "webhook_uri": hookSrv + "/hook", "expires_in": 600})
	if status != 200 {
		t.Fatalf("tokens: %d %s", status, b)
	}
	var raw map[string]string
	mustJSON(t, b, &raw)
	tok.Token, tok.ExpiresAt, tok.ConnectLinkURL = raw["token"], raw["expires_at"], raw["connect_link_url"]
	if !strings.HasPrefix(tok.Token, "ctok_") ||
		tok.ConnectLinkURL != "https://pipedream.com/_static/connect.html?token="+tok.Token+"&connectLink=true" {
		t.Errorf("token response %s", b)
	}
	exp, err := time.Parse(time.RFC3339, tok.ExpiresAt)
	if err != nil || exp.Before(time.Now().Add(9*time.Minute)) || exp.After(time.Now().Add(11*time.Minute)) {
		t.Errorf("expires_at %q: %v", tok.ExpiresAt, err)
	}
	recs := e.fake.ConnectTokens()
	if len(recs) != 1 || recs[0].ExternalUserID != "u1" || recs[0].WebhookURI != hookSrv+"/hook" || recs[0].Token != tok.Token {
		t.Errorf("ConnectTokens() = %+v", recs)
	}

	acct, err := e.fake.CompleteConnect(tok.Token, "slack")
	if err != nil {
		t.Fatal(err)
	}
	if !acct.Healthy || acct.ExternalID != "u1" || acct.AppSlug() != "slack" {
		t.Errorf("CompleteConnect account %+v", acct)
	}
	select {
	case ev := <-events:
		if ev["event"] != "CONNECTION_SUCCESS" || ev["connect_token"] != tok.Token || ev["account"].(map[string]any)["id"] != acct.ID {
			t.Errorf("webhook event %v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Error("no webhook delivered")
	}
	var page accountsPage
	e.get(e.project()+"/accounts?external_user_id=u1&app=slack", &page)
	if len(page.Data) != 1 || page.Data[0].ID != acct.ID {
		t.Errorf("accounts after connect: %+v", page.Data)
	}
	if _, err := e.fake.CompleteConnect(tok.Token, "slack"); err == nil {
		t.Error("a connect token worked twice")
	}
	if _, err := e.fake.CompleteConnect("ctok_unknown", "slack"); err == nil {
		t.Error("an unknown connect token worked")
	}

	for name, body := range map[string]any{
		"no user":       map[string]any{},
		"long user":     map[string]any{"external_user_id": strings.Repeat("x", 251)},
		"long expiry":   map[string]any{"external_user_id": "u1", "expires_in": 20000},
		"bad webhook":   map[string]any{"external_user_id": "u1", "webhook_uri": "not a url"},
		"not an object": []int{1},
	} {
		if status, b := e.do(http.MethodPost, e.project()+"/tokens", body); status != 400 {
			t.Errorf("%s: status %d, want 400: %s", name, status, b)
		}
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	t.Run("status, retry-after and count", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, Config{})
		e.fake.InjectFault(Fault{Endpoint: EndpointApps, Status: 429, RetryAfter: "7", Count: 2})
		for i := range 2 {
			resp := e.doResp(http.MethodGet, "/v1/connect/apps", nil)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" {
				t.Fatalf("request %d: status %d, Retry-After %q", i, resp.StatusCode, resp.Header.Get("Retry-After"))
			}
			if msg := errorMessage(t, b); msg == "" {
				t.Fatal("fault body has no error")
			}
		}
		if status, _ := e.do(http.MethodGet, "/v1/connect/apps", nil); status != 200 {
			t.Errorf("after the fault's count: status %d, want 200", status)
		}
		if got := e.fake.Count(EndpointApps); got != 3 {
			t.Errorf("Count(apps) = %d, want 3 (faulted ones included)", got)
		}
		e.fake.ResetCounts()
		if got := e.fake.Count(EndpointApps); got != 0 {
			t.Errorf("after ResetCounts: %d", got)
		}
	})
	t.Run("until cleared, all endpoints, custom body", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, Config{})
		e.fake.InjectFault(Fault{Endpoint: EndpointAll, Status: 503, Body: "upstream connect error"})
		for range 3 {
			status, b := e.do(http.MethodGet, e.project()+"/actions?app=slack", nil)
			if status != 503 || string(b) != "upstream connect error" {
				t.Fatalf("status %d body %q", status, b)
			}
		}
		if status, _ := e.postForm("/v1/oauth/token", url.Values{}); status != 503 {
			t.Errorf("token endpoint under a * fault: %d", status)
		}
		e.fake.ClearFaults()
		if status, _ := e.do(http.MethodGet, e.project()+"/actions?app=slack", nil); status != 200 {
			t.Errorf("after ClearFaults: status %d", status)
		}
	})
	t.Run("delay", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, Config{})
		e.fake.InjectFault(Fault{Endpoint: EndpointApp, Delay: 150 * time.Millisecond, Count: 1})
		start := time.Now()
		if status, _ := e.do(http.MethodGet, "/v1/connect/apps/slack", nil); status != 200 {
			t.Fatalf("status %d", status)
		}
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Errorf("answered after %v, want at least 150ms", d)
		}
	})
	t.Run("reset", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, Config{})
		// Until cleared: Go's transport silently retries a GET once when a reused
		// keep-alive connection dies before any response.
		e.fake.InjectFault(Fault{Endpoint: EndpointAccounts, Reset: true})
		if resp, err := e.try(http.MethodGet, e.project()+"/accounts", nil); err == nil {
			resp.Body.Close()
			t.Fatalf("reset: got status %d, want a transport error", resp.StatusCode)
		}
		e.fake.ClearFaults()
		if status, _ := e.do(http.MethodGet, e.project()+"/accounts", nil); status != 200 {
			t.Errorf("after the reset: status %d", status)
		}
	})
	t.Run("truncate", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, Config{})
		e.fake.InjectFault(Fault{Endpoint: EndpointActions, Truncate: true, Count: 1})
		resp := e.doResp(http.MethodGet, e.project()+"/actions?app=slack", nil)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil {
			t.Fatalf("truncated body read without error (%d bytes)", len(b))
		}
		if resp.StatusCode != 200 || len(b) == 0 {
			t.Errorf("status %d, %d bytes before the cut", resp.StatusCode, len(b))
		}
	})
	t.Run("token endpoint", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, Config{})
		e.fake.InjectFault(Fault{Endpoint: EndpointToken, Status: 500, Count: 1})
		if status, _ := e.postForm("/v1/oauth/token", url.Values{"grant_type": {"client_credentials"},
			"client_id": {TestClientID}, "client_secret": {TestClientSecret}}); status != 500 {
			t.Errorf("status %d, want 500", status)
		}
		e.fetchToken(TestClientID, TestClientSecret)
	})
}

func TestSandbox(t *testing.T) {
	t.Parallel()
	f := NewSandbox()
	srv, err := f.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	e := &env{t: t, fake: f, base: srv.URL, envHd: SandboxEnvironment}
	e.token = e.fetchToken(SandboxClientID, SandboxClientSecret)

	byApp := map[string][]pdclient.Account{}
	var page accountsPage
	e.get("/v1/connect/"+SandboxProjectID+"/accounts?external_user_id="+DemoUser, &page)
	after := page.PageInfo.EndCursor
	for _, a := range page.Data {
		byApp[a.AppSlug()] = append(byApp[a.AppSlug()], a)
	}
	for after != "" {
		var next accountsPage
		e.get("/v1/connect/"+SandboxProjectID+"/accounts?external_user_id="+DemoUser+"&after="+after, &next)
		for _, a := range next.Data {
			byApp[a.AppSlug()] = append(byApp[a.AppSlug()], a)
		}
		after = next.PageInfo.EndCursor
	}
	for _, slug := range f.Apps() {
		if slug == "notion" {
			if len(byApp[slug]) != 0 {
				t.Errorf("demo user has a notion account; the Connect Link path must show")
			}
			continue
		}
		if len(byApp[slug]) == 0 {
			t.Errorf("demo user has no %s account", slug)
		}
	}
	if s := byApp["slack"]; len(s) != 2 || s[1].ID != "apn_demo_slack_new" || s[0].Name == s[1].Name || !s[0].Created().Before(s[1].Created()) {
		t.Errorf("slack accounts %+v, want an older one and apn_demo_slack_new with distinct names", s)
	}
	if g := byApp["gmail"]; len(g) != 2 || !g[0].Healthy || g[1].Healthy {
		t.Errorf("gmail accounts %+v, want a healthy one and a newer unhealthy one", g)
	}
	for user, want := range map[string][]string{OtherUser: {"apn_other_github"}, ServiceUser: {"apn_service_hubspot", "apn_service_jira"}} {
		var p accountsPage
		e.get("/v1/connect/"+SandboxProjectID+"/accounts?external_user_id="+user, &p)
		var ids []string
		for _, a := range p.Data {
			ids = append(ids, a.ID)
		}
		if !slices.Equal(ids, want) {
			t.Errorf("%s accounts %v, want %v", user, ids, want)
		}
	}
}

// TestConcurrentUse drives one fake from many goroutines (run with -race).
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, NewSandbox())
	e.fake.InjectFault(Fault{Endpoint: EndpointApp, Status: 502, Count: 5})
	done := make(chan struct{})
	for i := range 16 {
		go func() {
			defer func() { done <- struct{}{} }()
			c := *e
			var resp *http.Response
			var err error
			switch i % 4 {
			case 0:
				resp, err = c.try(http.MethodGet, "/v1/connect/apps/slack", nil)
			case 1:
				resp, err = c.try(http.MethodPost, c.project()+"/actions/run", map[string]any{
					"id": "pd_edge-echo", "external_user_id": DemoUser,
					"configured_props": map[string]any{"pd_edge": app("apn_demo_pd_edge"), "message": "hi"}})
			case 2:
				resp, err = c.try(http.MethodPost, c.project()+"/components/props", map[string]any{
					"id": "pd_edge-dynamic-form", "external_user_id": DemoUser,
					"configured_props": map[string]any{"pd_edge": app("apn_demo_pd_edge"), "shape": "circle"}})
			case 3:
				c.fake.AddAccount(Account{ExternalUserID: "u", App: "slack", Healthy: true})
				resp, err = c.try(http.MethodGet, c.project()+"/accounts?external_user_id=u", nil)
			}
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	for range 16 {
		<-done
	}
	if got := e.fake.Count(EndpointApp); got != 4 {
		t.Errorf("Count(app) = %d, want 4", got)
	}
	if got := len(e.fake.Runs()); got != 4 {
		t.Errorf("%d runs recorded, want 4", got)
	}
}

func TestRunRecordsBounded(t *testing.T) {
	t.Parallel()
	f := NewSandbox()
	f.mu.Lock()
	for range maxRunRecords {
		f.runs = append(f.runs, RunRecord{ID: "old", Executed: true})
	}
	f.runsExecuted = maxRunRecords
	f.mu.Unlock()
	e := newEnv(t, f)
	status, body := e.do(http.MethodPost, e.project()+"/actions/run", map[string]any{
		"id": "slack-list-channels", "external_user_id": DemoUser,
		"configured_props": map[string]any{"slack": map[string]any{"authProvisionId": "apn_demo_slack_new"}},
	})
	if status != http.StatusOK {
		t.Fatalf("run: %d %s", status, body)
	}
	runs := f.Runs()
	if len(runs) > maxRunRecords/2+1 {
		t.Errorf("kept %d run records, want at most %d", len(runs), maxRunRecords/2+1)
	}
	if last := runs[len(runs)-1]; last.ID != "slack-list-channels" || !last.Executed {
		t.Errorf("the newest run must be kept and marked executed: %+v", last)
	}
	if rec, exe := f.RunTotals(); rec != maxRunRecords+1 || exe != maxRunRecords+1 {
		t.Errorf("totals = %d received, %d executed; want %d each", rec, exe, maxRunRecords+1)
	}
}
