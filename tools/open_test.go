package tools_test

import (
	"strings"
	"testing"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// openHarness is a tool set serving the open catalog of the whole sandbox
// catalog; no app is loaded at start.
func openHarness(t *testing.T, open tools.OpenCatalog) *harness {
	t.Helper()
	fake, cl := sandboxClient(t)
	open.Template.Client = cl
	open.Directory = cl
	set, err := tools.New(tools.Options{ToolMode: tools.ToolModeCatalog, Open: &open})
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	return &harness{fake: fake, set: set, cl: cl}
}

// TestOpenCatalogRequests: a session of 10 searches and 5 runs across 5 apps
// reads the app directory once and each app's actions once, and nothing loads
// at start.
func TestOpenCatalogRequests(t *testing.T) {
	h := openHarness(t, tools.OpenCatalog{})
	if n := h.fake.Count(pdtest.EndpointActions); n != 0 {
		t.Fatalf("%d action listings at start", n)
	}
	searches := []struct{ query, wantFirst string }{
		{"create a card on my trello board", "trello_create_card"},
		{"add a comment to a trello card", "trello_add_comment"},
		{"refund a stripe payment", "stripe_create_refund"},
		{"create a customer in stripe", "stripe_create_customer"},
		{"find a zendesk ticket", ""},
		{"create a zendesk ticket", "zendesk_create_ticket"},
		{"list events on my google calendar", "google_calendar_list_events"},
		{"create a google calendar event", "google_calendar_create_event"},
		{"list files in google drive", ""},
		{"create a folder in google drive", "google_drive_create_folder"},
	}
	for _, s := range searches {
		sc, res := h.call(t, t.Context(), pdtest.DemoUser, tools.ToolSearchActions, `{"query":"`+s.query+`","limit":3}`)
		results, _ := sc["results"].([]any)
		if res.IsError || len(results) == 0 {
			t.Fatalf("%q: %v\n%s", s.query, sc, text(res))
		}
		if first := results[0].(map[string]any); s.wantFirst != "" && first["tool"] != s.wantFirst {
			t.Errorf("%q: first %v, want %s", s.query, first["tool"], s.wantFirst)
		}
	}
	runs := []string{
		`{"tool":"trello_search_cards","arguments":{"query":"launch"}}`,
		`{"tool":"stripe_retrieve_balance","arguments":{}}`,
		`{"tool":"zendesk_list_tickets","arguments":{}}`,
		`{"tool":"google_calendar_list_calendars","arguments":{}}`,
		`{"tool":"google_drive_find_file","arguments":{}}`,
	}
	for _, r := range runs {
		h.call(t, t.Context(), pdtest.DemoUser, tools.ToolRunAction, r)
	}
	apps := 0
	for _, st := range h.set.Status() {
		if st.Loaded {
			apps++
		}
	}
	// One paged read of the whole directory.
	pages := (len(h.fake.AllApps()) + pdtest.DefaultPageSize - 1) / pdtest.DefaultPageSize
	if dir := h.fake.Count(pdtest.EndpointApps); dir != pages {
		t.Errorf("the app directory took %d requests, want one paged read (%d pages)", dir, pages)
	}
	if loads := h.fake.Count(pdtest.EndpointActions); loads != listingsPerApp*apps || apps < 5 {
		t.Errorf("%d action listings for %d apps loaded, want %d each (at least 5 apps)", loads, apps, listingsPerApp)
	}
	if n := len(h.fake.Runs()); n != len(runs) {
		t.Errorf("%d runs reached the API, want %d", n, len(runs))
	}
}

// TestOpenCatalogRunLoadsTheApp: a run of a tool whose app is not loaded
// loads it first; include_apps and exclude_apps hide apps from search and run.
func TestOpenCatalogRunLoadsTheApp(t *testing.T) {
	h := openHarness(t, tools.OpenCatalog{ExcludeApps: []string{"stripe"}, IncludeApps: []string{"google_*", "stripe", "slack"}})
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, tools.ToolRunAction, `{"tool":"google_calendar_list_calendars","arguments":{}}`)
	if sc["status"] != "success" {
		t.Errorf("run of an app not loaded: %v\n%s", sc, text(res))
	}
	sc, res = h.call(t, t.Context(), pdtest.DemoUser, tools.ToolRunAction, `{"tool":"stripe_retrieve_balance","arguments":{}}`)
	if sc["status"] != "invalid_arguments" || !strings.Contains(text(res), "not an action tool") {
		t.Errorf("an excluded app ran: %v\n%s", sc, text(res))
	}
	sc, res = h.call(t, t.Context(), pdtest.DemoUser, tools.ToolSearchActions, `{"query":"refund a payment","app":"stripe"}`)
	if sc["status"] != "invalid_arguments" || !strings.Contains(text(res), `app: "stripe" is not an app this server reaches`) {
		t.Errorf("search in an excluded app: %v\n%s", sc, text(res))
	}
	sc, _ = h.call(t, t.Context(), pdtest.DemoUser, tools.ToolSearchActions, `{"query":"create a trello card","limit":25}`)
	for _, r := range sc["results"].([]any) {
		if app := r.(map[string]any)["app"].(string); !strings.HasPrefix(app, "google_") && app != "slack" {
			t.Errorf("search found an app outside include_apps: %v", r)
		}
	}
}
