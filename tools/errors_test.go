package tools_test

// Error results name the next step with the right status (issue part 4): a
// misspelt tool name, a refused _dynamic_props_id, an unhealthy _account_id,
// and a field listed before the field it depends on. None of them runs
// anything, and none says the action ran.

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// wantError checks an error result: its status, isError, the phrases the
// text must name (the next step), and that it never claims a run.
func wantError(t *testing.T, sc map[string]any, txt string, isError bool, status string, want ...string) {
	t.Helper()
	if sc["status"] != status || !isError {
		t.Errorf("status %v (isError %v), want %s\n%s", sc["status"], isError, status, txt)
	}
	for _, w := range want {
		if !strings.Contains(txt, w) {
			t.Errorf("text lacks %q:\n%s", w, txt)
		}
	}
	for _, bad := range []string{"The action ran", "reload props"} {
		if strings.Contains(txt, bad) {
			t.Errorf("text says %q although nothing ran:\n%s", bad, txt)
		}
	}
}

// noRun checks that no action ran upstream: no run request reached the fake
// when requests is false, and none was executed in any case.
func noRun(t *testing.T, f *pdtest.Fake, requests bool) {
	t.Helper()
	received, executed := f.RunTotals()
	if executed != 0 {
		t.Errorf("%d runs executed upstream", executed)
	}
	if !requests && received != 0 {
		t.Errorf("%d run requests reached Pipedream: %+v", received, f.Runs())
	}
}

func TestUnknownToolNamesTheClosest(t *testing.T) {
	tests := []struct {
		name, mode, tool, args string
		want                   []string
	}{
		{"describe", tools.ToolModeDirect, tools.ToolDescribe, `{"tool":"gh_create_isue"}`,
			[]string{`"gh_create_isue" is not an action tool`, "Did you mean gh_create_issue", "tools/list"}},
		{"list_options", tools.ToolModeDirect, tools.ToolListOptions, `{"tool":"gh_crate_issue","prop":"labels"}`,
			[]string{"Did you mean gh_create_issue", "tools/list"}},
		{"run_action", tools.ToolModeCatalog, tools.ToolRunAction, `{"tool":"gh_get_repositry","arguments":{"repoFullname":"octo/hello"}}`,
			[]string{"Did you mean gh_get_repository", tools.ToolSearchActions}},
		{"run_read_action", tools.ToolModeCatalog, tools.ToolRunReadAction, `{"tool":"gh_get_repo","arguments":{}}`,
			[]string{"gh_get_repository", tools.ToolSearchActions}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tools.Options{ToolMode: tt.mode}, userConn("gh", "github"), userConn("slack", "slack"))
			sc, res := h.call(t, t.Context(), pdtest.DemoUser, tt.tool, tt.args)
			wantError(t, sc, text(res), res.IsError, "invalid_arguments", tt.want...)
			if tt.mode == tools.ToolModeDirect && strings.Contains(text(res), tools.ToolSearchActions) {
				t.Errorf("direct mode does not serve %s, yet the text names it:\n%s", tools.ToolSearchActions, text(res))
			}
			noRun(t, h.fake, false)
			for _, ep := range []string{pdtest.EndpointConfigure, pdtest.EndpointProps, pdtest.EndpointAccounts} {
				if n := h.fake.Count(ep); n != 0 {
					t.Errorf("%s called %d times for an unknown tool", ep, n)
				}
			}
		})
	}
}

func TestRefusedDynamicPropsID(t *testing.T) {
	const sheet = "1BfWjFF2dTW_YDiLISj5N9nKCUErShgugPS434liyytg"
	row := `"sheetId":"` + sheet + `","sheetName":"Sheet1","hasHeaders":"No","myColumnData":["a"]`
	// observation is the HTTP-200 answer of a run or reload that Pipedream
	// fails with the error the contract documents for missing dynamic props.
	const observation = `{"exports":{},"os":[{"k":"error","ts":1,"err":{"name":"Error","message":"undefined is not an array or an array-like"}}],"errors":[]}`
	tests := []struct {
		name, mode, tool, args string
		fault                  *pdtest.Fault
		requests               bool // the run request reaches the fake (and is refused there)
		want                   []string
	}{
		{name: "run: the fake's observation", tool: "sheets_add_single_row", args: `{` + row + `,"_dynamic_props_id":"dyp_bogus"}`, requests: true,
			want: []string{`"dyp_bogus"`, `Call pipedream_describe again (tool="sheets_add_single_row"`, "leave _dynamic_props_id out and call sheets_add_single_row again"}},
		{name: "run: a 404", tool: "sheets_add_single_row", args: `{` + row + `,"_dynamic_props_id":"dyp_expired"}`,
			fault: &pdtest.Fault{Endpoint: pdtest.EndpointRun, Status: http.StatusNotFound, Count: 1, Body: `{"error":"dynamic props dyp_expired not found"}`},
			want:  []string{`"dyp_expired"`, "pipedream_describe again", "leave _dynamic_props_id out"}},
		{name: "run: the documented observation", tool: "sheets_add_single_row", args: `{` + row + `,"_dynamic_props_id":"dyp_old"}`,
			fault: &pdtest.Fault{Endpoint: pdtest.EndpointRun, Status: http.StatusOK, Count: 1, Body: observation},
			want:  []string{`"dyp_old"`, "pipedream_describe again"}},
		{name: "run through the catalog", mode: tools.ToolModeCatalog, tool: tools.ToolRunAction, args: `{"tool":"sheets_add_single_row","arguments":{` + row + `,"_dynamic_props_id":"dyp_bogus"}}`, requests: true,
			want: []string{"pipedream_describe again", `call pipedream_run_action with tool "sheets_add_single_row" again`}},
		{name: "run of a tool without dependent fields", tool: "gh_get_repository", args: `{"repoFullname":"octo/hello","_dynamic_props_id":"dyp_bogus"}`, requests: true,
			want: []string{`"dyp_bogus"`, "leave _dynamic_props_id out and call gh_get_repository again"}},
		{name: "list_options", tool: tools.ToolListOptions, args: `{"tool":"sheets_add_single_row","prop":"sheetName","configured_props":{"sheetId":"` + sheet + `"},"_dynamic_props_id":"dyp_bogus"}`,
			want: []string{`"dyp_bogus"`, `Call pipedream_describe again (tool="sheets_add_single_row"`, "leave _dynamic_props_id out"}},
		{name: "describe: a 400", tool: tools.ToolDescribe, args: `{"tool":"sheets_add_single_row","configured_props":{"sheetId":"` + sheet + `"},"_dynamic_props_id":"dyp_gone"}`,
			fault: &pdtest.Fault{Endpoint: pdtest.EndpointProps, Status: http.StatusBadRequest, Count: 1, Body: `{"error":"invalid dynamic_props_id dyp_gone"}`},
			want:  []string{`"dyp_gone"`, `Leave _dynamic_props_id out and call pipedream_describe (tool="sheets_add_single_row") again`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mode := tt.mode
			if mode == "" {
				mode = tools.ToolModeDirect
			}
			h := newHarness(t, tools.Options{ToolMode: mode}, userConn("sheets", "google_sheets"), userConn("gh", "github"))
			if tt.fault != nil {
				h.fake.InjectFault(*tt.fault)
			}
			sc, res := h.call(t, t.Context(), pdtest.DemoUser, tt.tool, tt.args)
			wantError(t, sc, text(res), res.IsError, "invalid_arguments", append(tt.want, "_dynamic_props_id", "nothing was run")...)
			for _, f := range []string{"executed_at", "duration_ms", "ret"} {
				if _, ok := sc[f]; ok {
					t.Errorf("nothing ran, yet the result has %s: %v", f, sc)
				}
			}
			noRun(t, h.fake, tt.requests)
		})
	}

	// An action's own failure, with an id given, stays an action error.
	h := newHarness(t, tools.Options{}, userConn("sheets", "google_sheets"))
	h.fake.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointRun, Status: http.StatusOK, Count: 1,
		Body: `{"exports":{},"os":[{"k":"error","ts":1,"err":{"name":"Error","message":"The caller does not have permission"}}]}`})
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, "sheets_add_single_row", `{`+row+`,"_dynamic_props_id":"dyp_fine"}`)
	if sc["status"] != "error" || !strings.Contains(text(res), "The action ran and failed") {
		t.Errorf("an action's own error must stay status error: %v\n%s", sc, text(res))
	}
}

func TestUnhealthyAccountChosen(t *testing.T) {
	const broken = "apn_demo_gmail_broken"
	tests := []struct {
		name, tool, args string
	}{
		{"call", "gmail_find_email", `{"q":"is:unread","_account_id":"` + broken + `"}`},
		{"list_options", tools.ToolListOptions, `{"tool":"gmail_find_email","prop":"labels","_account_id":"` + broken + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tools.Options{}, userConn("gmail", "gmail"))
			sc, res := h.call(t, t.Context(), pdtest.DemoUser, tt.tool, tt.args)
			link, _ := sc["connect_url"].(string)
			wantError(t, sc, text(res), res.IsError, "account_required",
				"reconnect", broken, "unhealthy", link, `_account_id="apn_demo_gmail" (healthy)`, "leave _account_id out")
			if !strings.Contains(link, "token=ctok_") || !strings.HasSuffix(link, "&app=gmail") {
				t.Errorf("connect_url = %q", link)
			}
			if sc["account_id"] != broken || sc["app"] != "gmail" {
				t.Errorf("the result should name the account and app: %v", sc)
			}
			if toks := h.fake.ConnectTokens(); len(toks) != 1 || toks[0].ExternalUserID != pdtest.DemoUser {
				t.Errorf("connect tokens: %+v", toks)
			}
			noRun(t, h.fake, false)
			if n := h.fake.Count(pdtest.EndpointConfigure); n != 0 {
				t.Errorf("configure called %d times with an unhealthy account", n)
			}
		})
	}

	// Admin connections: an administrator reconnects the service identity's
	// account, and no link is handed out.
	h := newHarness(t, tools.Options{}, tools.Connection{Name: "gmail", App: "gmail", Admin: true, ServiceUser: pdtest.ServiceUser})
	h.fake.AddAccount(pdtest.Account{ID: "apn_service_gmail_broken", ExternalUserID: pdtest.ServiceUser, App: "gmail", Environment: pdtest.SandboxEnvironment, Healthy: false})
	sc, res := h.call(t, t.Context(), "", "gmail_find_email", `{"_account_id":"apn_service_gmail_broken"}`)
	wantError(t, sc, text(res), res.IsError, "account_required", "administrator must reconnect", "apn_service_gmail_broken", pdtest.ServiceUser)
	if sc["connect_url"] != nil || strings.Contains(text(res), "ctok_") {
		t.Errorf("admin connections never hand out a Connect Link: %v\n%s", sc, text(res))
	}
	if n := len(h.fake.ConnectTokens()); n != 0 {
		t.Errorf("no connect token may be created for an admin connection, got %d", n)
	}
	noRun(t, h.fake, false)
}

func TestListOptionsParentFirst(t *testing.T) {
	h := newHarness(t, tools.Options{}, userConn("gh", "github"), userConn("airtable", "airtable_oauth"))
	tests := []struct {
		name, args string
		want       []string
	}{
		{"labels before the repository", `{"tool":"gh_create_issue","prop":"labels"}`,
			[]string{"Set repoFullname first", `configured_props (e.g. {"repoFullname": <value>})`, `call pipedream_list_options (tool="gh_create_issue", prop="repoFullname")`}},
		{"the parent set empty", `{"tool":"gh_create_issue","prop":"assignees","configured_props":{"repoFullname":""}}`,
			[]string{"Set repoFullname first", "again for assignees"}},
		{"table before the base", `{"tool":"airtable_list_records","prop":"tableId"}`,
			[]string{"Set baseId first", `prop="baseId"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, res := h.call(t, t.Context(), pdtest.DemoUser, tools.ToolListOptions, tt.args)
			wantError(t, sc, text(res), res.IsError, "invalid_arguments", append(tt.want, "nothing was run")...)
		})
	}

	// With the parent set, the values come.
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, tools.ToolListOptions, `{"tool":"gh_create_issue","prop":"labels","configured_props":{"repoFullname":"octo-org/api"}}`)
	if res.IsError || len(sc["options"].([]any)) == 0 {
		t.Errorf("labels of a set repository: %v\n%s", sc, text(res))
	}

	// An error that names no field: status error, still no claim of a run, and
	// the fields not set yet are suggested.
	h.fake.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointConfigure, Status: http.StatusOK, Count: 1,
		Body: `{"observations":[],"options":[],"errors":["{\"name\":\"Error\",\"message\":\"Request failed with status code 502\"}"]}`})
	sc, res = h.call(t, t.Context(), pdtest.DemoUser, tools.ToolListOptions, `{"tool":"gh_create_issue","prop":"labels"}`)
	wantError(t, sc, text(res), res.IsError, "error", "Listing the values of labels failed; nothing was run", "not set yet: repoFullname")
	noRun(t, h.fake, false)
}

// TestNothingRanTexts: errors before any run never read "The action ran".
func TestNothingRanTexts(t *testing.T) {
	const sheet = "1BfWjFF2dTW_YDiLISj5N9nKCUErShgugPS434liyytg"
	h := newHarness(t, tools.Options{}, userConn("sheets", "google_sheets"))
	reloadError := pdtest.Fault{Endpoint: pdtest.EndpointProps, Status: http.StatusOK, Count: 1,
		Body: `{"observations":[],"errors":["{\"name\":\"Error\",\"message\":\"Requested entity was not found.\"}"]}`}

	// A reload that fails inside a call, and inside pipedream_describe.
	h.fake.InjectFault(reloadError)
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, "sheets_add_single_row", `{"sheetId":"`+sheet+`","sheetName":"Sheet1","hasHeaders":"No","myColumnData":["a"]}`)
	wantError(t, sc, text(res), res.IsError, "error", "Requested entity was not found", "nothing was run")
	h.fake.InjectFault(reloadError)
	sc, res = h.call(t, t.Context(), pdtest.DemoUser, tools.ToolDescribe, `{"tool":"sheets_add_single_row","configured_props":{"sheetId":"`+sheet+`"}}`)
	wantError(t, sc, text(res), res.IsError, "error", "Requested entity was not found", "nothing was run")

	// No end user: nothing ran.
	sc, res = h.call(t, t.Context(), "", "sheets_add_single_row", `{"sheetId":"`+sheet+`","sheetName":"Sheet1","hasHeaders":"No"}`)
	wantError(t, sc, text(res), res.IsError, "error", "no end user", "nothing was run", "--external-user-id")
	sc, res = h.call(t, t.Context(), "", tools.ToolListOptions, `{"tool":"sheets_add_single_row","prop":"sheetId"}`)
	wantError(t, sc, text(res), res.IsError, "error", "no end user", "nothing was run")
	noRun(t, h.fake, false)
}

// TestSandboxConnectLinksLabelled: in the sandbox a Connect Link says it is
// simulated, in the result's notes and in pipedream_accounts; elsewhere not.
func TestSandboxConnectLinksLabelled(t *testing.T) {
	for _, sandbox := range []bool{false, true} {
		h := newHarness(t, tools.Options{Sandbox: sandbox}, userConn("notion", "notion"))
		sc, res := h.call(t, t.Context(), pdtest.DemoUser, "notion_search", `{"query":"Roadmap"}`)
		if sc["status"] != "account_required" || sc["connect_url"] == nil {
			t.Fatalf("sandbox=%v: %v", sandbox, sc)
		}
		labelled := strings.Contains(text(res), "simulated") && strings.Contains(fmt.Sprint(sc["notes"]), "sandbox:")
		if labelled != sandbox {
			t.Errorf("sandbox=%v: labelled=%v\n%s", sandbox, labelled, text(res))
		}
		sc, _ = h.call(t, t.Context(), pdtest.DemoUser, tools.ToolAccounts, `{}`)
		if got := strings.Contains(fmt.Sprint(sc["apps"]), "simulated"); got != sandbox {
			t.Errorf("sandbox=%v: pipedream_accounts labelled=%v: %v", sandbox, got, sc)
		}
	}
}
