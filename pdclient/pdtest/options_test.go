package pdtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// configureResult is the decoded body of components/configure.
type configureResult struct {
	Observations []any           `json:"observations"`
	Context      json.RawMessage `json:"context"`
	Options      []struct {
		Label string `json:"label"`
		Value any    `json:"value"`
	} `json:"options"`
	Errors        []string `json:"errors"`
	StringOptions []string `json:"stringOptions"`
}

func (r configureResult) values() []string {
	var out []string
	for _, o := range r.Options {
		out = append(out, stringify(o.Value))
	}
	return append(out, r.StringOptions...)
}

// errorMessages parses errors[] entries, JSON strings {"name", "message"}.
func (r configureResult) errorMessages(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, s := range r.Errors {
		var e struct{ Name, Message string }
		if err := json.Unmarshal([]byte(s), &e); err != nil || e.Message == "" {
			t.Fatalf("errors entry %q is not a JSON {name, message}", s)
		}
		out = append(out, e.Message)
	}
	return out
}

func (e *env) configure(body map[string]any) configureResult {
	e.t.Helper()
	var r configureResult
	status, b := e.do(http.MethodPost, e.project()+"/components/configure", body)
	if status != 200 {
		e.t.Fatalf("configure: status %d: %s", status, b)
	}
	var keys map[string]json.RawMessage
	mustJSON(e.t, b, &keys)
	for _, k := range []string{"observations", "context", "options", "errors", "stringOptions"} {
		if _, ok := keys[k]; !ok {
			e.t.Errorf("configure response lacks %q: %s", k, b)
		}
	}
	mustJSON(e.t, b, &r)
	return r
}

func TestConfigurePagingByContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t, NewSandbox())
	seen := map[string]bool{}
	var ctx json.RawMessage
	for call := 0; ; call++ {
		body := map[string]any{"id": "slack-send-message-to-channel", "external_user_id": DemoUser, "prop_name": "conversation",
			"configured_props": map[string]any{"slack": app("apn_demo_slack_new")}}
		if ctx != nil {
			body["prev_context"] = ctx
		}
		r := e.configure(body)
		if len(r.Errors) > 0 {
			t.Fatalf("errors %v", r.Errors)
		}
		if call == 0 && (len(r.Options) != 10 || r.Options[0].Label != "#general") {
			t.Fatalf("first page: %+v", r.Options)
		}
		for _, v := range r.values() {
			if seen[v] {
				t.Fatalf("option %s repeated", v)
			}
			seen[v] = true
		}
		if isAbsent(r.Context) {
			break
		}
		ctx = r.Context
		if call > 5 {
			t.Fatal("context paging does not end")
		}
	}
	if len(seen) != 27 {
		t.Errorf("%d channels over all pages, want 27", len(seen))
	}
	// Past the end: empty options and null context.
	r := e.configure(map[string]any{"id": "slack-send-message-to-channel", "external_user_id": DemoUser, "prop_name": "conversation",
		"configured_props": map[string]any{"slack": app("apn_demo_slack_new")}, "prev_context": map[string]any{"cursor": "27"}})
	if len(r.Options) != 0 || !isAbsent(r.Context) || r.Options == nil {
		t.Errorf("past the end: options %v, context %s; want [] and null", r.Options, r.Context)
	}
}

func TestConfigurePagingByPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, NewSandbox())
	var sizes []int
	all := map[string]bool{}
	for page := range 3 {
		r := e.configure(map[string]any{"id": "github-create-issue", "external_user_id": DemoUser, "prop_name": "repoFullname",
			"configured_props": map[string]any{"github": app("apn_demo_github")}, "page": page})
		sizes = append(sizes, len(r.Options))
		for _, v := range r.values() {
			all[v] = true
		}
		if !isAbsent(r.Context) {
			t.Errorf("page-paged prop returned context %s", r.Context)
		}
	}
	if sizes[0] != 10 || sizes[1] != 4 || sizes[2] != 0 || len(all) != 14 {
		t.Errorf("page sizes %v with %d distinct repos, want [10 4 0] and 14", sizes, len(all))
	}
}

func TestConfigureQueryStringOptionsAndDependencies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, NewSandbox())
	sheets := map[string]any{"googleSheets": app("apn_demo_google_sheets")}

	r := e.configure(map[string]any{"id": "google_sheets-add-single-row", "external_user_id": DemoUser, "prop_name": "sheetId",
		"configured_props": sheets, "query": "sales"})
	if len(r.Options) != 3 {
		t.Errorf("query=sales: %+v, want the 3 sales sheets", r.Options)
	}
	for _, o := range r.Options {
		if !strings.Contains(strings.ToLower(o.Label), "sales") {
			t.Errorf("query=sales returned %q", o.Label)
		}
	}
	// query is ignored for props without useQuery.
	r = e.configure(map[string]any{"id": "github-create-issue", "external_user_id": DemoUser, "prop_name": "repoFullname",
		"configured_props": map[string]any{"github": app("apn_demo_github")}, "query": "zzz"})
	if len(r.Options) != 10 {
		t.Errorf("query on a prop without useQuery filtered: %d options", len(r.Options))
	}

	r = e.configure(map[string]any{"id": "slack-send-message-to-channel", "external_user_id": DemoUser, "prop_name": "icon_emoji",
		"configured_props": map[string]any{"slack": app("apn_demo_slack_new")}})
	if r.Options != nil || len(r.StringOptions) == 0 || r.StringOptions[0] != ":thumbsup:" {
		t.Errorf("string options: options %v, stringOptions %v", r.Options, r.StringOptions)
	}

	gh := func(props map[string]any) configureResult {
		props["github"] = app("apn_demo_github")
		return e.configure(map[string]any{"id": "github-create-issue", "external_user_id": DemoUser, "prop_name": "labels", "configured_props": props})
	}
	if msgs := gh(map[string]any{}).errorMessages(t); len(msgs) != 1 || !strings.Contains(msgs[0], "repoFullname") {
		t.Errorf("labels without a repo: errors %v, want one naming repoFullname", msgs)
	}
	if got := gh(map[string]any{"repoFullname": "octo-org/api"}).values(); !strings.Contains(strings.Join(got, ","), "breaking-change") {
		t.Errorf("labels of octo-org/api: %v", got)
	}
	other := gh(map[string]any{"repoFullname": "someone/else"})
	if len(other.Options) == 0 || !strings.Contains(other.Options[0].Label, "someone/else") {
		t.Errorf("labels of someone/else: %+v, want labels derived from the repo", other.Options)
	}

	// A withLabel dependency is unwrapped.
	sheets["sheetId"] = lv("Q3 Sales Pipeline", "1BfWjFF2dTW_YDiLISj5N9nKCUErShgugPS434liyytg")
	r = e.configure(map[string]any{"id": "google_sheets-add-single-row", "external_user_id": DemoUser, "prop_name": "sheetName", "configured_props": sheets})
	if strings.Join(r.StringOptions, ",") != "Pipeline,Closed Won,Closed Lost,Summary" {
		t.Errorf("worksheets of the pipeline sheet: %v", r.StringOptions)
	}
}

func TestConfigureErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, NewSandbox())
	e.fake.AddAccount(Account{ID: "apn_demo_slack_prod", ExternalUserID: DemoUser, App: "slack", Environment: "production", Healthy: true})
	tests := []struct {
		name    string
		props   map[string]any
		prop    string
		wantMsg string
	}{
		{"no account", map[string]any{}, "conversation", "oauth_access_token"},
		{"app prop under the slug", map[string]any{"slack_v2": app("apn_demo_slack_new")}, "conversation", "oauth_access_token"},
		{"bad app value", map[string]any{"slack": "apn_demo_slack_new"}, "conversation", "authProvisionId"},
		{"other user's account", map[string]any{"slack": app("apn_other_github")}, "conversation", "does not belong"},
		{"other app's account", map[string]any{"slack": app("apn_demo_github")}, "conversation", "github account"},
		{"other environment", map[string]any{"slack": app("apn_demo_slack_prod")}, "conversation", "production"},
		{"unknown account", map[string]any{"slack": app("apn_nope")}, "conversation", "not found"},
		{"unknown prop", map[string]any{"slack": app("apn_demo_slack_new")}, "nope", "not found"},
		{"prop without remote options", map[string]any{"slack": app("apn_demo_slack_new")}, "text", "no remote options"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := *e
			c.t = t
			r := c.configure(map[string]any{"id": "slack-send-message-to-channel", "external_user_id": DemoUser,
				"prop_name": tc.prop, "configured_props": tc.props})
			msgs := r.errorMessages(t)
			if len(msgs) != 1 || !strings.Contains(msgs[0], tc.wantMsg) || len(r.Options) != 0 {
				t.Errorf("errors %v options %v, want one error containing %q", msgs, r.Options, tc.wantMsg)
			}
		})
	}
	for name, body := range map[string]map[string]any{
		"no id":        {"external_user_id": DemoUser, "prop_name": "conversation"},
		"no user":      {"id": "slack-send-message-to-channel", "prop_name": "conversation"},
		"no prop_name": {"id": "slack-send-message-to-channel", "external_user_id": DemoUser},
	} {
		if status, _ := e.do(http.MethodPost, e.project()+"/actions/configure", body); status != 400 {
			t.Errorf("%s: status %d, want 400", name, status)
		}
	}
	if status, _ := e.do(http.MethodPost, e.project()+"/components/configure", map[string]any{
		"id": "slack-nope", "external_user_id": DemoUser, "prop_name": "x"}); status != 404 {
		t.Errorf("unknown component: status %d, want 404", status)
	}
}

// reloadResult is the decoded body of components/props.
type reloadResult struct {
	Observations []any    `json:"observations"`
	Errors       []string `json:"errors"`
	DynamicProps *struct {
		ID                string `json:"id"`
		ConfigurableProps []struct {
			Name     string `json:"name"`
			Type     string `json:"type"`
			Label    string `json:"label"`
			Optional bool   `json:"optional"`
			Hidden   bool   `json:"hidden"`
		} `json:"configurableProps"`
	} `json:"dynamicProps"`
}

func (r reloadResult) names(visibleOnly bool) []string {
	var out []string
	for _, p := range r.DynamicProps.ConfigurableProps {
		if !visibleOnly || !p.Hidden {
			out = append(out, p.Name)
		}
	}
	return out
}

func (e *env) reload(key string, props map[string]any) reloadResult {
	e.t.Helper()
	var r reloadResult
	e.post(e.project()+"/components/props", map[string]any{"id": key, "external_user_id": DemoUser, "configured_props": props}, &r)
	return r
}

func TestReloadProps(t *testing.T) {
	t.Parallel()
	e := newEnv(t, NewSandbox())
	pipeline := lv("Q3 Sales Pipeline", "1BfWjFF2dTW_YDiLISj5N9nKCUErShgugPS434liyytg")
	other := lv("OKRs", "1Fn5uR0xS4pY7gT9vA3wK1qC6uF8hI2jL4mN7bZ0eX5d")
	gs := "apn_demo_google_sheets"
	tests := []struct {
		name    string
		key     string
		props   map[string]any
		want    string // visible props, in order
		checkFn func(t *testing.T, r reloadResult)
	}{
		{"sheets: headers of the pipeline sheet", "google_sheets-add-single-row",
			map[string]any{"googleSheets": app(gs), "sheetId": pipeline, "hasHeaders": "Yes"},
			"googleSheets,drive,sheetId,sheetName,hasHeaders,col_0000,col_0001,col_0002,col_0003", nil},
		{"sheets: headers of another sheet", "google_sheets-add-single-row",
			map[string]any{"googleSheets": app(gs), "sheetId": other, "hasHeaders": "Yes"},
			"googleSheets,drive,sheetId,sheetName,hasHeaders,col_0000,col_0001,col_0002", nil},
		{"sheets: no headers", "google_sheets-add-single-row",
			map[string]any{"googleSheets": app(gs), "sheetId": other, "hasHeaders": "No"},
			"googleSheets,drive,sheetId,sheetName,hasHeaders,myColumnData",
			func(t *testing.T, r reloadResult) {
				last := r.DynamicProps.ConfigurableProps[len(r.DynamicProps.ConfigurableProps)-1]
				if last.Type != "string[]" || last.Optional {
					t.Errorf("myColumnData %+v, want a required string[]", last)
				}
			}},
		{"sheets: nothing chosen yet", "google_sheets-add-single-row",
			map[string]any{"googleSheets": app(gs)},
			"googleSheets,drive,sheetId,sheetName,hasHeaders", nil},
		{"notion: block types un-hide props", "notion-append-block",
			map[string]any{"notion": app("apn_demo_pd_edge"), "blockTypes": []string{"markdownContents", "imageUrls"}},
			"", nil}, // notion has no demo account: checked below
		{"airtable: fields of the contacts table", "airtable_oauth-create-single-record",
			map[string]any{"airtable": app("apn_demo_airtable_oauth"), "baseId": lv("CRM", "appCrm5e6F7g8H9iJ"), "tableId": lv("Contacts", "tblContacts01")},
			"airtable,baseId,tableId,customExpressionInfo,typecast,returnFieldsByFieldId,Name,Email,Status,Notes", nil},
		{"hubspot: hidden property groups add props", "hubspot-create-deal",
			map[string]any{"hubspot": app("apn_demo_hubspot"), "propertyGroups": []string{"deal_activity"}},
			"hubspot,objectProperties,dealname,pipeline,dealstage,hs_next_step,notes_last_contacted", nil},
		{"jira: an epic needs an epic name", "jira-create-issue",
			map[string]any{"app": app("apn_demo_jira"), "issueTypeId": "10004"},
			"app,cloudId,historyMetadata,properties,update,additionalProperties,updateHistory,projectId,issueTypeId,summary,description,priority,labels,duedate,customfield_10011", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := *e
			c.t = t
			r := c.reload(tc.key, tc.props)
			if tc.want == "" {
				if len(r.Errors) != 1 || r.DynamicProps != nil {
					t.Errorf("reload with another app's account: errors %v, dynamicProps %v", r.Errors, r.DynamicProps)
				}
				return
			}
			if len(r.Errors) != 0 || r.DynamicProps == nil || !strings.HasPrefix(r.DynamicProps.ID, "dyp_") {
				t.Fatalf("errors %v, dynamicProps %+v", r.Errors, r.DynamicProps)
			}
			if got := strings.Join(r.names(true), ","); got != tc.want {
				t.Errorf("visible props\n got %s\nwant %s", got, tc.want)
			}
			if key, user, ok := c.fake.DynamicPropsIssued(r.DynamicProps.ID); !ok || key != tc.key || user != DemoUser {
				t.Errorf("DynamicPropsIssued = %q, %q, %v", key, user, ok)
			}
			if tc.checkFn != nil {
				tc.checkFn(t, r)
			}
		})
	}

	e.fake.AddAccount(Account{ID: "apn_demo_notion", ExternalUserID: DemoUser, App: "notion", Healthy: true})
	r := e.reload("notion-append-block", map[string]any{"notion": app("apn_demo_notion"), "blockTypes": []string{"markdownContents", "imageUrls"}})
	if got := strings.Join(r.names(true), ","); got != "notion,pageId,blockTypes,markdownContents,imageUrls" {
		t.Errorf("notion visible props after reload: %s", got)
	}
	r2 := e.reload("notion-append-block", map[string]any{"notion": app("apn_demo_notion"), "blockTypes": []string{"markdownContents", "imageUrls"}})
	if r2.DynamicProps.ID == r.DynamicProps.ID {
		t.Error("two reloads returned the same dynamic props id")
	}
}
