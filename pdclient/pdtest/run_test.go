package pdtest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func (e *env) run(body map[string]any) runResult {
	e.t.Helper()
	if _, ok := body["external_user_id"]; !ok {
		body["external_user_id"] = DemoUser
	}
	var r runResult
	e.post(e.project()+"/actions/run", body, &r)
	return r
}

// dyp reloads props and returns the dynamic props id.
func (e *env) dyp(key string, props map[string]any) string {
	e.t.Helper()
	r := e.reload(key, props)
	if r.DynamicProps == nil {
		e.t.Fatalf("reload %s: errors %v", key, r.Errors)
	}
	return r.DynamicProps.ID
}

func TestRunSuccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, NewSandbox())
	r := e.run(map[string]any{"id": "slack-send-message-to-channel", "version": "0.0.5", "configured_props": map[string]any{
		"slack": app("apn_demo_slack_new"), "conversation": "C00001000", "text": "hello"}})
	if errs := r.errors(); len(errs) != 0 {
		t.Fatalf("errors %v", errs)
	}
	var ret struct {
		OK      bool   `json:"ok"`
		Channel string `json:"channel"`
		TS      string `json:"ts"`
		Message struct{ Text, TS string }
	}
	mustJSON(t, r.Ret, &ret)
	if !ret.OK || ret.Channel != "C00001000" || ret.TS == "" || ret.Message.Text != "hello" || ret.Message.TS != ret.TS {
		t.Errorf("slack ret %s", r.Ret)
	}
	if r.Exports["$summary"] != "Successfully sent a message to channel C00001000" {
		t.Errorf("summary %v", r.Exports["$summary"])
	}
	if r.OS == nil {
		t.Error("os is not a list")
	}

	issue := func() map[string]any {
		r := e.run(map[string]any{"id": "github-create-issue", "configured_props": map[string]any{
			"github": app("apn_demo_github"), "repoFullname": "octo-org/api", "title": "Bug", "labels": []string{"bug"}}})
		var m map[string]any
		mustJSON(t, r.Ret, &m)
		return m
	}
	first, second := issue(), issue()
	if first["number"] != float64(1) || second["number"] != float64(2) ||
		second["html_url"] != "https://github.com/octo-org/api/issues/2" || first["id"] == second["id"] {
		t.Errorf("issues %v and %v", first, second)
	}
	if _, isNum := first["id"].(float64); !isNum {
		t.Errorf("issue id %v is not a number", first["id"])
	}

	runs := e.fake.Runs()
	if len(runs) != 3 {
		t.Fatalf("%d runs recorded, want 3", len(runs))
	}
	if got := runs[0]; got.ID != "slack-send-message-to-channel" || got.ExternalUserID != DemoUser || got.Version != "0.0.5" ||
		!got.Executed || got.HasStashID || got.Environment != "development" || got.ConfiguredProps["text"] != "hello" {
		t.Errorf("run record %+v", got)
	}
}

func TestRunChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, NewSandbox())
	e.fake.AddAccount(Account{ID: "apn_demo_github_prod", ExternalUserID: DemoUser, App: "github", Environment: "production", Healthy: true})
	pipeline := lv("Q3 Sales Pipeline", "1BfWjFF2dTW_YDiLISj5N9nKCUErShgugPS434liyytg")
	gs := app("apn_demo_google_sheets")
	sheetsDyp := e.dyp("google_sheets-add-single-row", map[string]any{"googleSheets": gs, "sheetId": pipeline, "hasHeaders": "No"})
	jiraDyp := e.dyp("jira-create-issue", map[string]any{"app": app("apn_demo_jira"), "issueTypeId": "10001"})
	var otherDyp reloadResult
	e.post(e.project()+"/components/props", map[string]any{"id": "github-create-issue", "external_user_id": OtherUser,
		"configured_props": map[string]any{"github": app("apn_other_github")}}, &otherDyp)
	gh := func(extra map[string]any) map[string]any {
		m := map[string]any{"github": app("apn_demo_github"), "repoFullname": "octo-org/api", "title": "T"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name string
		body map[string]any
		want []string // substrings of the error messages; nil means success
	}{
		{"other user's account", map[string]any{"id": "github-create-issue", "configured_props": gh(map[string]any{"github": app("apn_other_github")})},
			[]string{`does not belong to external user "demo-user"`}},
		{"other app's account", map[string]any{"id": "github-create-issue", "configured_props": gh(map[string]any{"github": app("apn_demo_slack_new")})},
			[]string{"slack account"}},
		{"other environment's account", map[string]any{"id": "github-create-issue", "configured_props": gh(map[string]any{"github": app("apn_demo_github_prod")})},
			[]string{"production environment"}},
		{"unhealthy account", map[string]any{"id": "gmail-find-email", "configured_props": map[string]any{"gmail": app("apn_demo_gmail_broken")}},
			[]string{"unhealthy"}},
		{"healthy sibling works", map[string]any{"id": "gmail-find-email", "configured_props": map[string]any{"gmail": app("apn_demo_gmail")}}, nil},
		{"app prop under the wrong name", map[string]any{"id": "google_sheets-get-values-in-range", "configured_props": map[string]any{
			"google_sheets": gs, "sheetId": pipeline, "worksheetId": "0"}},
			[]string{`reading 'oauth_access_token'`}},
		{"jira's app prop is named app", map[string]any{"id": "jira-get-all-projects", "configured_props": map[string]any{
			"jira": app("apn_demo_jira"), "cloudId": "a1"}}, nil},
		{"jira create-issue: app prop named app", map[string]any{"id": "jira-create-issue", "dynamic_props_id": jiraDyp, "configured_props": map[string]any{
			"app": app("apn_demo_jira"), "cloudId": "a1", "projectId": "10000", "issueTypeId": "10001", "summary": "S"}}, nil},
		{"jira create-issue: app prop named jira", map[string]any{"id": "jira-create-issue", "dynamic_props_id": jiraDyp, "configured_props": map[string]any{
			"jira": app("apn_demo_jira"), "cloudId": "a1", "projectId": "10000", "issueTypeId": "10001", "summary": "S"}},
			[]string{`reading 'oauth_access_token'`}},
		{"missing dynamic props id", map[string]any{"id": "google_sheets-add-single-row", "configured_props": map[string]any{
			"googleSheets": gs, "sheetId": pipeline, "hasHeaders": "No", "myColumnData": []string{"a"}}},
			[]string{"dynamic_props_id"}},
		{"unknown dynamic props id", map[string]any{"id": "google_sheets-add-single-row", "dynamic_props_id": "dyp_nope", "configured_props": map[string]any{
			"googleSheets": gs, "sheetId": pipeline, "hasHeaders": "No", "myColumnData": []string{"a"}}},
			[]string{"dyp_nope not found"}},
		{"dynamic props of another user", map[string]any{"id": "github-create-issue", "dynamic_props_id": otherDyp.DynamicProps.ID,
			"configured_props": gh(nil)}, []string{"another component or user"}},
		{"reloaded props are enforced", map[string]any{"id": "google_sheets-add-single-row", "dynamic_props_id": sheetsDyp, "configured_props": map[string]any{
			"googleSheets": gs, "sheetId": pipeline, "sheetName": "Pipeline", "hasHeaders": "No"}},
			[]string{`"myColumnData"`}},
		{"reloaded props satisfied", map[string]any{"id": "google_sheets-add-single-row", "dynamic_props_id": sheetsDyp, "configured_props": map[string]any{
			"googleSheets": gs, "sheetId": pipeline, "sheetName": "Pipeline", "hasHeaders": "No", "myColumnData": []string{"a", "b"}}}, nil},
		{"withLabel value sent plain", map[string]any{"id": "google_sheets-add-single-row", "dynamic_props_id": sheetsDyp, "configured_props": map[string]any{
			"googleSheets": gs, "sheetId": "1BfWjFF2dTW_YDiLISj5N9nKCUErShgugPS434liyytg", "sheetName": "Pipeline", "hasHeaders": "No", "myColumnData": []string{"a"}}},
			[]string{`"sheetId" has withLabel`}},
		{"required props missing", map[string]any{"id": "github-create-issue", "configured_props": map[string]any{"github": app("apn_demo_github")}},
			[]string{`"repoFullname"`, `"title"`}},
		{"wrong types", map[string]any{"id": "pd_edge-all-prop-types", "configured_props": map[string]any{
			"pd_edge": app("apn_demo_pd_edge"), "secretToken": "s", "tier": lv("Pro tier", "pro"),
			"count": 2.5, "tags": "a", "enabled": "yes", "metadata": []int{1}, "ids": []any{1, "2"}}},
			[]string{`"count" must be an integer`, `"tags" must be a list of strings`, `"enabled" must be a boolean`,
				`"metadata" must be a JSON object`, `"ids" must be a list of integers`}},
		{"defaults satisfy required", map[string]any{"id": "pd_edge-all-prop-types", "configured_props": map[string]any{
			"pd_edge": app("apn_demo_pd_edge"), "secretToken": "s", "tier": lv("Pro tier", "pro")}}, nil},
		{"hidden, disabled and readOnly props are not required", map[string]any{"id": "pd_edge-flags", "configured_props": map[string]any{
			"pd_edge": app("apn_demo_pd_edge"), "visible": "v"}}, nil},
		{"platform props are not required", map[string]any{"id": "pd_edge-platform-props", "configured_props": map[string]any{
			"pd_edge": app("apn_demo_pd_edge"), "message": "m"}}, nil},
		{"two app props: the second is optional", map[string]any{"id": "pd_edge-discord-channels", "configured_props": map[string]any{
			"pd_edge": app("apn_demo_pd_edge"), "channel": "123"}}, nil},
		{"two app props: a given second one is checked", map[string]any{"id": "pd_edge-discord-channels", "configured_props": map[string]any{
			"pd_edge": app("apn_demo_pd_edge"), "discord": app("apn_demo_slack_new"), "channel": "123"}},
			[]string{"needs a discord account"}},
		{"only an app prop for another app", map[string]any{"id": "pd_edge-other-app-prop", "configured_props": map[string]any{
			"slack": app("apn_demo_slack_new"), "text": "t"}}, nil},
		{"File Stash required", map[string]any{"id": "pd_edge-upload-file", "configured_props": map[string]any{
			"pd_edge": app("apn_demo_pd_edge"), "file": "/tmp/a.txt"}}, []string{"stash_id"}},
		{"File Stash given", map[string]any{"id": "pd_edge-upload-file", "stash_id": "", "configured_props": map[string]any{
			"pd_edge": app("apn_demo_pd_edge"), "file": "/tmp/a.txt"}}, nil},
		{"action that fails", map[string]any{"id": "pd_edge-always-fails", "configured_props": map[string]any{
			"pd_edge": app("apn_demo_pd_edge"), "reason": "quota exceeded"}},
			[]string{"The upstream service rejected the request: quota exceeded"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := *e
			c.t = t
			r := c.run(tc.body)
			errs := r.errors()
			if tc.want == nil {
				if len(errs) != 0 || r.Exports["$summary"] == nil {
					t.Fatalf("errors %v, exports %v; want success", errs, r.Exports)
				}
				return
			}
			if len(errs) != len(tc.want) {
				t.Fatalf("errors %q, want %d", errs, len(tc.want))
			}
			all := strings.Join(errs, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("errors %q lack %q", errs, w)
				}
			}
			if r.OS[0].TS == 0 || r.OS[0].Err.Name == "" {
				t.Errorf("error observation %+v lacks ts or name", r.OS[0])
			}
		})
	}
	executed := map[string]int{}
	for _, rec := range e.fake.Runs() {
		if rec.Executed {
			executed[rec.ID]++
		}
	}
	if executed["github-create-issue"] != 0 || executed["google_sheets-add-single-row"] != 1 || executed["pd_edge-always-fails"] != 1 {
		t.Errorf("executed runs %v", executed)
	}
}

func TestRunRequestErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, NewSandbox())
	for name, tc := range map[string]struct {
		body any
		want int
	}{
		"bad json":          {"not an object", 400},
		"no id":             {map[string]any{"external_user_id": DemoUser}, 400},
		"no user":           {map[string]any{"id": "pd_edge-echo"}, 400},
		"unknown component": {map[string]any{"id": "pd_edge-nope", "external_user_id": DemoUser}, 404},
		"wrong version":     {map[string]any{"id": "pd_edge-echo", "external_user_id": DemoUser, "version": "0.0.1"}, 404},
	} {
		status, b := e.do(http.MethodPost, e.project()+"/actions/run", tc.body)
		if status != tc.want {
			t.Errorf("%s: status %d, want %d: %s", name, status, tc.want, b)
			continue
		}
		if msg := errorMessage(t, b); msg == "" {
			t.Errorf("%s: no error message", name)
		}
	}
}

func TestRunBehaviours(t *testing.T) {
	t.Parallel()
	e := newEnv(t, NewSandbox())
	edge := app("apn_demo_pd_edge")

	large := e.run(map[string]any{"id": "pd_edge-large-result", "configured_props": map[string]any{"pd_edge": edge}})
	if len(large.Ret) < 1<<20 || len(large.Ret) > 1<<20+64<<10 {
		t.Errorf("large result is %d bytes, want about 1 MiB", len(large.Ret))
	}

	echo := e.run(map[string]any{"id": "pd_edge-all-prop-types", "configured_props": map[string]any{
		"pd_edge": edge, "secretToken": "hunter2", "tier": lv("Pro tier", "pro"), "count": 4}})
	if strings.Contains(string(echo.Ret), "hunter2") || strings.Contains(string(echo.Ret), "apn_demo_pd_edge") {
		t.Errorf("echo leaks the secret or the account: %s", echo.Ret)
	}
	var in map[string]any
	mustJSON(t, echo.Ret, &in)
	if in["tier"] != "pro" || in["count"] != float64(4) {
		t.Errorf("echo %v: want the unwrapped withLabel value and the count", in)
	}

	list := e.run(map[string]any{"id": "gmail-find-email", "configured_props": map[string]any{"gmail": app("apn_demo_gmail"), "maxResults": 3, "q": "invoice"}})
	var msgs []map[string]any
	mustJSON(t, list.Ret, &msgs)
	if len(msgs) != 3 || !strings.Contains(msgs[2]["snippet"].(string), "invoice") || list.Exports["$summary"] != "Successfully retrieved 3 messages" {
		t.Errorf("list: %s, summary %v", list.Ret, list.Exports["$summary"])
	}

	airtable := e.run(map[string]any{"id": "airtable_oauth-create-single-record",
		"dynamic_props_id": e.dyp("airtable_oauth-create-single-record", map[string]any{
			"airtable": app("apn_demo_airtable_oauth"), "baseId": lv("CRM", "appCrm5e6F7g8H9iJ"), "tableId": lv("Contacts", "tblContacts01")}),
		"configured_props": map[string]any{"airtable": app("apn_demo_airtable_oauth"), "baseId": lv("CRM", "appCrm5e6F7g8H9iJ"),
			"tableId": lv("Contacts", "tblContacts01"), "Name": "Ada", "Email": "ada@example.com"}})
	var rec struct {
		ID     string
		Fields map[string]any
	}
	mustJSON(t, airtable.Ret, &rec)
	if !strings.HasPrefix(rec.ID, "rec") || len(rec.Fields) != 2 || rec.Fields["Name"] != "Ada" {
		t.Errorf("airtable record %s: want the dynamic fields only", airtable.Ret)
	}

	start := time.Now()
	slow := e.run(map[string]any{"id": "pd_edge-slow", "configured_props": map[string]any{"pd_edge": edge, "delay_ms": 200}})
	if d := time.Since(start); d < 200*time.Millisecond || slow.Exports["$summary"] != "Finished after 200 ms" {
		t.Errorf("slow action answered after %v with %v", d, slow.Exports["$summary"])
	}

	// A client deadline cuts a slow action short.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	b, _ := json.Marshal(map[string]any{"id": "pd_edge-slow", "external_user_id": DemoUser, "configured_props": map[string]any{"pd_edge": edge, "delay_ms": 60000}})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.base+e.project()+"/actions/run", strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("x-pd-environment", "development")
	start = time.Now()
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Error("a 60 s action answered within the client's 100 ms deadline")
	} else if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("err %v after %v", err, time.Since(start))
	}
}

func TestSetRunDelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, NewSandbox())
	e.fake.SetRunDelay(150 * time.Millisecond)
	start := time.Now()
	e.run(map[string]any{"id": "pd_edge-echo", "configured_props": map[string]any{"pd_edge": app("apn_demo_pd_edge"), "message": "m"}})
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("run answered after %v, want at least 150ms", d)
	}
	if got := e.fake.Count(EndpointRun); got != 1 {
		t.Errorf("Count(run) = %d", got)
	}
}
