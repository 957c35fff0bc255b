package search

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

func tools(hits []Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.Tool
	}
	return out
}

// relevanceCases are agent-style queries over corpus(): the top hit must be
// one of want (when top is 1), or one of want must be in the first top hits.
var relevanceCases = []struct {
	query string
	top   int
	want  []string
}{
	{"post a message to slack", 1, []string{"slack_send_message_to_channel"}},
	{"send a message in a slack channel", 1, []string{"slack_send_message_to_channel"}},
	{"find a github issue", 1, []string{"github_get_issue", "github_search_issues_and_pull_requests"}},
	{"add a row to my spreadsheet", 1, []string{"google_sheets_add_single_row"}},
	{"append row to google sheet", 1, []string{"google_sheets_add_single_row", "google_sheets_add_multiple_rows"}},
	{"send an email", 1, []string{"gmail_send_email"}},
	{"email someone", 1, []string{"gmail_send_email"}},
	{"create a jira ticket", 1, []string{"jira_create_issue"}},
	{"new hubspot contact", 1, []string{"hubspot_create_contact"}},
	{"list slack channels", 1, []string{"slack_list_channels"}},
	{"search notion", 1, []string{"notion_search"}},
	{"schedule a meeting", 3, []string{"google_calendar_create_event", "hubspot_create_meeting"}},
	{"move jira issue to done", 3, []string{"jira_transition_issue"}},
	{"comment on a github issue", 1, []string{"github_create_issue_comment"}},
	{"dm a user on slack", 1, []string{"slack_send_direct_message"}},
	{"message bob on slack", 3, []string{"slack_send_direct_message", "slack_send_message_to_user_or_group"}},
	{"update a deal in hubspot", 1, []string{"hubspot_update_deal"}},
	{"trash an email", 1, []string{"gmail_delete_email"}},
	{"look up a slack user by email", 1, []string{"slack_find_user_by_email"}},
	{"append text to a notion page", 3, []string{"notion_append_block"}},
	{"query airtable records", 2, []string{"airtable_oauth_list_records", "airtable_oauth_search_records"}},
	{"open a pull request", 1, []string{"github_create_pull_request"}},
	{"react with an emoji", 1, []string{"slack_add_emoji_reaction"}},
	{"star repository", 1, []string{"github_star_repo"}},
	{"send slcak mesage", 3, []string{"slack_send_message_to_channel", "slack_send_direct_message", "slack_send_message_to_user_or_group"}},
	{"googlesheets update cell", 1, []string{"google_sheets_update_cell"}},
	{"draft an email", 1, []string{"gmail_create_draft"}},
	{"archive slack channel", 1, []string{"slack_archive_channel"}},
	{"upload a file to slack", 1, []string{"slack_upload_file"}},
	{"create calendar event", 1, []string{"google_calendar_create_event"}},
	{"get jira issue details", 1, []string{"jira_get_issue"}},
	{"add a comment to a jira issue", 1, []string{"jira_add_comment_to_issue"}},
	{"assign jira issue to someone", 1, []string{"jira_assign_issue"}},
	{"remind me tomorrow in slack", 1, []string{"slack_create_reminder"}},
	{"read the values of a range in google sheets", 1, []string{"google_sheets_get_values_in_range"}},
	{"delete an airtable record", 1, []string{"airtable_oauth_delete_record"}},
	{"list github commits", 1, []string{"github_list_commits"}},
	{"trigger a github actions workflow", 1, []string{"github_create_workflow_dispatch"}},
	{"create a notion page in a database", 1, []string{"notion_create_page_from_database"}},
	{"hubspot owners", 1, []string{"hubspot_list_owners"}},
	{"label an email", 1, []string{"gmail_add_label_to_email"}},
	{"new spreadsheet", 1, []string{"google_sheets_create_spreadsheet"}},
	{"slack_send_message_to_channel", 1, []string{"slack_send_message_to_channel"}},
	{"hubspot-create-deal", 1, []string{"hubspot_create_deal"}},
	{"SendMessageToChannel", 1, []string{"slack_send_message_to_channel"}},
	// Long, chatty queries with values in them.
	{"I need to send a message to the #general channel on Slack saying the deploy finished", 1, []string{"slack_send_message_to_channel"}},
	{"can you look up the contact with email jane@example.com in hubspot", 2, []string{"hubspot_search_contacts", "hubspot_get_contact"}},
	{"create a new row in the Q3 budget google sheet with these values", 2, []string{"google_sheets_add_single_row", "google_sheets_add_multiple_rows"}},
	{"what meetings do I have on my calendar tomorrow", 3, []string{"google_calendar_list_events"}},
	{"close the jira issue PROJ-123", 3, []string{"jira_transition_issue", "jira_update_issue"}},
	{"get the open pull requests of the pipedream repo", 3, []string{"github_search_issues_and_pull_requests"}},
}

func TestRelevance(t *testing.T) {
	ix := Build(corpus())
	for _, tc := range relevanceCases {
		hits := ix.Search(Query{Text: tc.query, Limit: 5})
		got := tools(hits)
		ok := false
		for _, g := range got[:min(tc.top, len(got))] {
			for _, w := range tc.want {
				ok = ok || g == w
			}
		}
		if !ok {
			t.Errorf("%q: want one of %v in the top %d, got %v", tc.query, tc.want, tc.top, got)
		}
	}
}

func TestRelevanceWithAppFilter(t *testing.T) {
	ix := Build(corpus())
	for _, tc := range []struct {
		app, query, want string
	}{
		{"slack", "send message", "slack_send_message_to_channel"},
		{"jira", "issue comment", "jira_add_comment_to_issue"},
		{"github", "issue comment", "github_create_issue_comment"},
		{"google_sheets", "find a row", "google_sheets_find_row"},
		{"hubspot", "find contacts", "hubspot_search_contacts"},
	} {
		hits := ix.Search(Query{Text: tc.query, App: tc.app})
		if len(hits) == 0 || hits[0].Tool != tc.want {
			t.Errorf("%s %q: want %s first, got %v", tc.app, tc.query, tc.want, tools(hits))
		}
		for _, h := range hits {
			if h.App != tc.app {
				t.Errorf("%s %q: hit %s of app %s", tc.app, tc.query, h.Tool, h.App)
			}
		}
	}
}

func TestAppFilterUnknownAndBrowse(t *testing.T) {
	ix := Build(corpus())
	if hits := ix.Search(Query{Text: "send message", App: "discord"}); hits != nil {
		t.Errorf("unknown app: got %v", tools(hits))
	}
	// No words: an app filter lists the app's actions by tool name.
	hits := ix.Search(Query{App: "gmail", Limit: 3})
	want := []string{"gmail_add_label_to_email", "gmail_archive_email", "gmail_create_draft"}
	if got := tools(hits); !reflect.DeepEqual(got, want) {
		t.Errorf("browse gmail: got %v, want %v", got, want)
	}
	if hits := ix.Search(Query{Text: "the of to"}); hits != nil {
		t.Errorf("stopwords only, no app: got %v", tools(hits))
	}
	if hits := ix.Search(Query{Text: "zzzqqq"}); len(hits) != 0 {
		t.Errorf("unknown word: got %v", tools(hits))
	}
}

func TestFilterBeforeLimit(t *testing.T) {
	ix := Build(corpus())
	all := ix.Search(Query{Text: "slack message", Limit: 50})
	var readOnly []string
	for _, h := range all {
		if h.ReadOnly {
			readOnly = append(readOnly, h.Tool)
		}
	}
	if len(readOnly) < 3 {
		t.Fatalf("corpus has too few read-only slack message hits: %v", readOnly)
	}
	filtered := ix.Search(Query{Text: "slack message", Limit: 3, Filter: func(d *Doc) bool { return d.ReadOnly }})
	if got := tools(filtered); !reflect.DeepEqual(got, readOnly[:3]) {
		t.Errorf("filtered: got %v, want %v (the first read-only hits)", got, readOnly[:3])
	}
	none := ix.Search(Query{Text: "slack message", Filter: func(*Doc) bool { return false }})
	if len(none) != 0 {
		t.Errorf("filter rejecting all: got %v", tools(none))
	}
}

func TestLimit(t *testing.T) {
	ix := Build(corpus())
	if n := len(ix.Search(Query{Text: "create"})); n != DefaultLimit {
		t.Errorf("default limit: got %d hits", n)
	}
	if n := len(ix.Search(Query{Text: "create", Limit: 2})); n != 2 {
		t.Errorf("limit 2: got %d hits", n)
	}
	if n := len(ix.Search(Query{Text: "create", Limit: 1000})); n < 20 {
		t.Errorf("limit 1000: got only %d hits", n)
	}
}

func TestScoresDescending(t *testing.T) {
	ix := Build(corpus())
	for _, tc := range relevanceCases {
		hits := ix.Search(Query{Text: tc.query, Limit: 25})
		for i := 1; i < len(hits); i++ {
			a, b := hits[i-1], hits[i]
			if a.Score < b.Score || (a.Score == b.Score && a.Tool > b.Tool) {
				t.Errorf("%q: %s (%v) before %s (%v)", tc.query, a.Tool, a.Score, b.Tool, b.Score)
			}
		}
	}
}

func TestDeterministicTies(t *testing.T) {
	// Identical docs but for the tool name: equal scores, ordered by name,
	// whatever the build order.
	mk := func(tool string) Doc {
		return Doc{Tool: tool, App: "slack", AppName: "Slack", Action: "slack-send-message", Name: "Send Message", Description: "Send a message."}
	}
	for _, order := range [][]string{{"c_send", "a_send", "b_send"}, {"b_send", "c_send", "a_send"}} {
		var docs []Doc
		for _, n := range order {
			docs = append(docs, mk(n))
		}
		ix := Build(docs)
		hits := ix.Search(Query{Text: "send message"})
		if got := tools(hits); !reflect.DeepEqual(got, []string{"a_send", "b_send", "c_send"}) {
			t.Errorf("build order %v: got %v", order, got)
		}
		if hits[0].Score != hits[2].Score {
			t.Errorf("scores differ: %v", hits)
		}
	}
	// Same query twice, and over a rebuilt index: same results.
	a := Build(corpus())
	b := Build(corpus())
	for _, tc := range relevanceCases {
		h1 := a.Search(Query{Text: tc.query, Limit: 25})
		h2 := a.Search(Query{Text: tc.query, Limit: 25})
		h3 := b.Search(Query{Text: tc.query, Limit: 25})
		if !reflect.DeepEqual(h1, h2) || !reflect.DeepEqual(h1, h3) {
			t.Errorf("%q: results differ between runs", tc.query)
		}
	}
}

func TestConcurrentSearch(t *testing.T) {
	ix := Build(corpus())
	want := make([][]Hit, len(relevanceCases))
	for i, tc := range relevanceCases {
		want[i] = ix.Search(Query{Text: tc.query})
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for r := 0; r < 20; r++ {
				i := (g*7 + r) % len(relevanceCases)
				got := ix.Search(Query{Text: relevanceCases[i].query})
				if !reflect.DeepEqual(got, want[i]) {
					t.Errorf("goroutine %d: %q differs", g, relevanceCases[i].query)
					return
				}
				_ = ix.Closest("slack_send_mesage", 3, nil)
				_ = ix.Apps("google sheets")
			}
		}(g)
	}
	wg.Wait()
}

func TestDuplicateToolsAndWith(t *testing.T) {
	docs := corpus()
	replaced := docs[0]
	replaced.Name = "Shout Into Channel"
	ix := Build(append(docs, replaced))
	if ix.Len() != len(docs) {
		t.Fatalf("Len = %d, want %d", ix.Len(), len(docs))
	}
	if hits := ix.Search(Query{Text: "shout"}); len(hits) != 1 || hits[0].Tool != replaced.Tool {
		t.Errorf("later doc should replace the earlier: %v", tools(hits))
	}

	extra := Doc{Tool: "discord_send_message", App: "discord", AppName: "Discord", Action: "discord-send-message", Name: "Send Message", Description: "Send a message to a Discord channel."}
	ix2 := ix.With([]Doc{extra})
	if ix2.Len() != ix.Len()+1 {
		t.Errorf("With: Len = %d", ix2.Len())
	}
	if hits := ix.Search(Query{Text: "discord"}); len(hits) != 0 {
		t.Errorf("With modified the original index: %v", tools(hits))
	}
	if hits := ix2.Search(Query{Text: "discord send message"}); len(hits) == 0 || hits[0].Tool != "discord_send_message" {
		t.Errorf("With: got %v", tools(hits))
	}
	if len(ix2.Docs()) != ix2.Len() {
		t.Errorf("Docs: %d docs", len(ix2.Docs()))
	}
}

func TestNilIndex(t *testing.T) {
	var ix *Index
	if ix.Search(Query{Text: "x"}) != nil || ix.Closest("x", 3, nil) != nil || ix.Apps("x") != nil || ix.Len() != 0 || ix.Docs() != nil {
		t.Error("nil index should be empty")
	}
	if ix.With(corpus()[:2]).Len() != 2 {
		t.Error("nil.With")
	}
}

func TestEmptyIndex(t *testing.T) {
	ix := Build(nil)
	if hits := ix.Search(Query{Text: "send message"}); len(hits) != 0 {
		t.Errorf("got %v", hits)
	}
	if got := ix.Closest("x", 3, nil); len(got) != 0 {
		t.Errorf("Closest: %v", got)
	}
	if got := ix.Apps("slack"); len(got) != 0 {
		t.Errorf("Apps: %v", got)
	}
}

func TestAppAliases(t *testing.T) {
	docs := corpus()
	for i := range docs {
		if docs[i].App == "google_sheets" {
			docs[i].AppAliases = []string{"gsheets", "GSheet"}
		}
	}
	ix := Build(docs)
	hits := ix.Search(Query{Text: "gsheets add row"})
	if len(hits) == 0 || hits[0].Tool != "google_sheets_add_single_row" {
		t.Errorf("alias: got %v", tools(hits))
	}
	if got := ix.Apps("gsheets"); !reflect.DeepEqual(got, []string{"google_sheets"}) {
		t.Errorf("Apps(gsheets) = %v", got)
	}
}

func TestApps(t *testing.T) {
	ix := Build(corpus())
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"google sheets add row", []string{"google_sheets", "google_calendar"}},
		{"googlesheets", []string{"google_sheets"}},
		{"post to slack", []string{"slack"}},
		{"github and jira", []string{"github", "jira"}},
		{"airtable", []string{"airtable_oauth"}},
		{"hubspt", []string{"hubspot"}},
		{"send a message", nil},
	} {
		if got := ix.Apps(tc.query); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Apps(%q) = %v, want %v", tc.query, got, tc.want)
		}
	}
}

// TestDebugRanking prints the ranking of every relevance case with -v and
// -run TestDebugRanking; it never fails.
func TestDebugRanking(t *testing.T) {
	if !testing.Verbose() {
		t.Skip("run with -v")
	}
	ix := Build(corpus())
	for _, tc := range relevanceCases {
		var b strings.Builder
		for _, h := range ix.Search(Query{Text: tc.query, Limit: 4}) {
			fmt.Fprintf(&b, " %s(%.2f)", h.Tool, h.Score)
		}
		t.Logf("%-45q%s", tc.query, b.String())
	}
}

func TestPanickingFilterLeavesIndexClean(t *testing.T) {
	ix := Build(corpus())
	want := ix.Search(Query{Text: "send a slack message"})
	func() {
		defer func() { _ = recover() }()
		ix.Search(Query{Text: "send a slack message", Filter: func(*Doc) bool { panic("boom") }})
	}()
	if got := ix.Search(Query{Text: "send a slack message"}); !reflect.DeepEqual(got, want) {
		t.Errorf("after a panicking filter: got %v, want %v", tools(got), tools(want))
	}
}

func TestVerbAndSurfaceSignals(t *testing.T) {
	mk := func(tool, name string) Doc {
		return Doc{Tool: tool, App: "acme", AppName: "Acme", Action: "acme-" + strings.ReplaceAll(strings.ToLower(name), " ", "-"), Name: name}
	}
	ix := Build([]Doc{
		mk("a_delete_issue", "Delete Issue"),
		mk("b_get_issue", "Get Issue"),
		mk("c_add_rows", "Add Rows"),
		mk("d_add_row", "Add Row"),
	})
	// "fetch" is a synonym of "get", not of "delete": the verb decides.
	if got := tools(ix.Search(Query{Text: "fetch an issue", Limit: 2})); !reflect.DeepEqual(got, []string{"b_get_issue", "a_delete_issue"}) {
		t.Errorf("verb: got %v", got)
	}
	// Same stem; the word as written decides.
	if got := tools(ix.Search(Query{Text: "add a row", Limit: 2})); !reflect.DeepEqual(got, []string{"d_add_row", "c_add_rows"}) {
		t.Errorf("surface: got %v", got)
	}
	if got := tools(ix.Search(Query{Text: "add rows", Limit: 2})); !reflect.DeepEqual(got, []string{"c_add_rows", "d_add_row"}) {
		t.Errorf("surface plural: got %v", got)
	}
	// A question reads.
	if got := tools(ix.Search(Query{Text: "which issues are there", Limit: 1})); !reflect.DeepEqual(got, []string{"b_get_issue"}) {
		t.Errorf("question: got %v", got)
	}
}

// TestAppDirectory covers the index used over apps rather than actions (the
// open catalog's directory): one Doc per app, no key, categories as labels.
func TestAppDirectory(t *testing.T) {
	app := func(slug, name, desc, cats string) Doc {
		return Doc{Tool: slug, App: slug, AppName: name, Name: name, Description: desc, PropLabels: strings.Split(cats, "|")}
	}
	ix := Build([]Doc{
		app("slack", "Slack", "Slack is a channel-based messaging platform.", "Communication"),
		app("slack_bot", "Slack (Bot)", "Interact with Slack as a bot.", "Communication"),
		app("discord", "Discord", "Voice, video and text chat for communities.", "Communication"),
		app("microsoft_teams", "Microsoft Teams", "Chat, meetings, calling and collaboration.", "Communication|Productivity"),
		app("gmail", "Gmail", "Private and secure email by Google.", "Communication|Email"),
		app("sendgrid", "SendGrid", "Deliver transactional and marketing email.", "Email|Marketing"),
		app("google_sheets", "Google Sheets", "Create, edit and share spreadsheets online.", "Productivity"),
		app("airtable_oauth", "Airtable", "Airtable is a low-code platform to build apps on databases.", "Databases"),
		app("github", "GitHub", "Where the world builds software: repositories, issues and pull requests.", "Developer Tools"),
		app("jira", "Jira", "Issue and project tracking for software teams.", "Developer Tools|Project Management"),
		app("google_calendar", "Google Calendar", "Schedule events and meetings.", "Productivity|Calendar"),
	})
	for _, tc := range []struct {
		query string
		top   int
		want  string
	}{
		{"post a message to slack", 1, "slack"},
		{"slack bot", 1, "slack_bot"},
		{"send an email", 2, "gmail"},
		{"add a row to a spreadsheet", 1, "google_sheets"},
		{"create a jira ticket", 1, "jira"},
		{"open a pull request", 1, "github"},
		{"schedule a meeting", 2, "google_calendar"},
		{"teams chat", 1, "microsoft_teams"},
	} {
		got := tools(ix.Search(Query{Text: tc.query, Limit: 3}))
		if !slices.Contains(got[:min(tc.top, len(got))], tc.want) {
			t.Errorf("%q: want %s in the top %d, got %v", tc.query, tc.want, tc.top, got)
		}
	}
}
