package pdclient

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

func TestListApps(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	var query box[url.Values]
	f.handle("GET /v1/connect/apps", func(w http.ResponseWriter, r *http.Request) {
		query.set(r.URL.Query())
		writeJSON(w, 200, `{"page_info":{"total_count":2,"count":1,"start_cursor":"Z2l0bGFi","end_cursor":"Z2l0bGFi"},
			"data":[{"id":"app_1Z2hw1","name_slug":"gitlab","name":"GitLab","auth_type":"oauth","categories":"Developer Tools","featured_weight":5000,"custom_fields_json":"[]"}]}`)
	})
	apps, pi, err := f.client().ListApps(t.Context(), ListAppsOptions{Query: "git", Limit: 1, After: "abc", HasActions: true})
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{"q": {"git"}, "limit": {"1"}, "after": {"abc"}, "has_actions": {"true"}}
	if got := query.get(); !reflect.DeepEqual(got, want) {
		t.Errorf("query = %v, want %v", got, want)
	}
	if len(apps) != 1 || apps[0].NameSlug != "gitlab" || !reflect.DeepEqual(apps[0].Categories, []string{"Developer Tools"}) {
		t.Errorf("apps = %+v", apps)
	}
	if pi.EndCursor != "Z2l0bGFi" || pi.TotalCount != 2 {
		t.Errorf("page info = %+v", pi)
	}
}

func TestGetAppCachedAndCollapsed(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"data":{"id":"app_OkrhR1","name_slug":"slack","name":"Slack","auth_type":"oauth"}}`,
		`{"id":"app_OkrhR1","name_slug":"slack","name":"Slack","auth_type":"oauth"}`,
	} {
		t.Run(body[:8], func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			var n atomic.Int32
			var gate chan struct{} // made in the bubble: the app request waits here
			f.handle("GET /v1/connect/apps/{app}", func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				if r.PathValue("app") != "slack" {
					t.Errorf("app = %q", r.PathValue("app"))
				}
				<-gate
				writeJSON(w, 200, body)
			})
			c := f.client(f.inMemory())
			synctest.Test(t, func(t *testing.T) {
				gate = make(chan struct{})
				var wg sync.WaitGroup
				for range 10 {
					wg.Go(func() {
						app, err := c.GetApp(t.Context(), "slack")
						if err != nil || app.Name != "Slack" || app.AuthType != "oauth" {
							t.Errorf("GetApp = %+v, %v", app, err)
						}
					})
				}
				synctest.Wait() // every caller waits on the one request the gate holds
				close(gate)
				wg.Wait()
				if _, err := c.GetApp(t.Context(), "slack"); err != nil {
					t.Fatal(err)
				}
			})
			if n.Load() != 1 {
				t.Errorf("requests = %d, want 1", n.Load())
			}
		})
	}
}

func TestCreateConnectToken(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	var body box[map[string]any]
	f.handle("POST /v1/connect/proj_test1/tokens", func(w http.ResponseWriter, r *http.Request) {
		body.set(readBody(t, r))
		writeJSON(w, 200, `{"token":"ctok_PLANTED123","expires_at":"2026-10-22T08:30:45.172+00:00",
			"connect_link_url":"https://pipedream.com/_static/connect.html?token=ctok_PLANTED123&connectLink=true"}`)
	})
	tok, err := f.client().CreateConnectToken(t.Context(), ConnectTokenRequest{
		ExternalUserID: "u1", WebhookURI: "https://mcp.example.com/webhooks/pipedream/s3", ExpiresIn: 600,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"external_user_id": "u1", "webhook_uri": "https://mcp.example.com/webhooks/pipedream/s3", "expires_in": 600.0}
	if got := body.get(); !reflect.DeepEqual(got, want) {
		t.Errorf("body = %v, want %v", got, want)
	}
	if tok.Token != "ctok_PLANTED123" || tok.ExpiresAt == "" {
		t.Errorf("token = %#v", *tok)
	}
	link := ConnectLink(tok, "google sheets&x")
	if want := "https://pipedream.com/_static/connect.html?token=ctok_PLANTED123&connectLink=true&app=google+sheets%26x"; link != want {
		t.Errorf("ConnectLink = %q, want %q", link, want)
	}
	if ConnectLink(nil, "slack") != "" {
		t.Error("ConnectLink(nil) is not empty")
	}
	if got := ConnectLink(&ConnectToken{ConnectLinkURL: "https://x.test/connect"}, "slack"); got != "https://x.test/connect?app=slack" {
		t.Errorf("ConnectLink without query = %q", got)
	}
	// Printing or logging the token does not reveal it.
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("made", "tok", *tok)
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%v %+v %#v %#v", *tok, *tok, *tok, tok), sb.String()} {
		if strings.Contains(s, "PLANTED") {
			t.Errorf("token revealed in %q", s)
		}
	}
}
