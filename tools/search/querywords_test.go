package search

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestQueryWords(t *testing.T) {
	ix := Build(corpus())
	for _, tc := range []struct {
		query string
		want  string
	}{
		// Values are dropped; a chat channel is read as "channel".
		{"look up jane@acme.com in hubspot", "find jane@acme.com in hubspot"},
		{"post to #deploys", "post to channel"},
		{"see https://example.com/x now", "see now"},
		// A brand the index knows whole stays whole; else its parts.
		{"open a GitHub issue", "open a github issue"},
		{"SendMessageToChannel", "send message to channel"},
		// Hyphenated words the synonym table knows are one word.
		{"add a to-do", "add a todo"},
		{"well-known", "well known"},
		// Phrasal and light verbs.
		{"set up a meeting", "create a meeting"},
		{"look him up", "find him"},
		{"check off the task", "complete the task"},
		{"let the whole team know", "notify the whole team"},
		{"let me know what changed", "let me know what changed"},
		{"make a copy of the file", "copy of the file"},
		{"get a list of forms", "list of forms"},
	} {
		want := tc.want
		if strings.Contains(tc.query, "@") {
			want = strings.Replace(want, " jane@acme.com", "", 1)
		}
		if got := strings.Join(ix.queryWords(tc.query), " "); got != want {
			t.Errorf("queryWords(%q) = %q, want %q", tc.query, got, want)
		}
	}
}

// TestLeadVerbs: some words are verbs only as a request's first word.
func TestLeadVerbs(t *testing.T) {
	ix := Build(corpus())
	verbOf := func(q string) (verb string, alts []string) {
		for _, c := range ix.concepts(q) {
			if c.verb {
				for _, a := range c.alts {
					alts = append(alts, ix.terms[a.term])
				}
				if c.exact >= 0 {
					return ix.terms[c.exact], alts
				}
				return "(" + alts[0] + ")", alts
			}
		}
		return "", nil
	}
	// "file a bug": create; the noun "file" is gone.
	if v, alts := verbOf("file a bug in github"); v == "" || slices.Contains(alts, "fil") || !slices.Contains(alts, "creat") {
		t.Errorf("file a bug: verb %q, alts %v", v, alts)
	}
	// "upload a file": upload, and "file" stays a noun.
	if v, _ := verbOf("upload a file"); v != "upload" {
		t.Errorf("upload a file: verb %q", v)
	}
	// Only the base form at the start: "records" is a noun.
	if v, _ := verbOf("records of the airtable table"); v != "" {
		t.Errorf("records ...: verb %q", v)
	}
	// "message" is the verb at the start only.
	if v, _ := verbOf("message bob on slack"); v != "messag" {
		t.Errorf("message bob: verb %q", v)
	}
	if v, _ := verbOf("give that slack message a thumbs up"); v != "" {
		t.Errorf("give that slack message ...: verb %q", v)
	}
	// In a question about things, a verb in the past describes them.
	if v, _ := verbOf("what meetings have people booked with me"); v != "" {
		t.Errorf("what meetings have people booked: verb %q", v)
	}
	if v, _ := verbOf("how do I send an email"); v != "send" {
		t.Errorf("how do I send: verb %q", v)
	}
	// An app's name is not the request's first word.
	if v, _ := verbOf("slack message bob"); v != "messag" {
		t.Errorf("slack message bob: verb %q", v)
	}
}

// TestVerbEchoes: a word that only repeats the verb is not a second concept.
func TestVerbEchoes(t *testing.T) {
	ix := Build(corpus())
	var got []string
	for _, c := range ix.concepts("create a new page") {
		got = append(got, ix.terms[c.alts[0].term])
	}
	if !reflect.DeepEqual(got, []string{"creat", "pag"}) {
		t.Errorf("concepts = %v", got)
	}
}

// TestNameExplained: of two actions that match, the one whose name the query
// explains in full ranks first.
func TestNameExplained(t *testing.T) {
	mk := func(tool, name, desc string) Doc {
		return Doc{Tool: tool, App: "boards", AppName: "Boards", Action: "boards-" + strings.ReplaceAll(strings.ToLower(name), " ", "-"), Name: name, Description: desc}
	}
	ix := Build([]Doc{
		mk("boards_add_comment", "Add Comment", "Adds a new comment to a card."),
		mk("boards_add_checklist", "Add Checklist", "Adds a new checklist to a card."),
		mk("boards_create_card", "Create Card", "Creates a card."),
		mk("boards_get_card", "Get Card", "Gets a card."),
		mk("boards_add_label", "Add Label", "Adds a label to a board."),
		mk("boards_add_member", "Add Member", "Adds a member to a board."),
		mk("boards_create_list", "Create List", "Creates a list on a board."),
		mk("boards_list_members", "List Members", "Lists the members of a board."),
		mk("boards_delete_board", "Delete Board", "Deletes a board."),
		mk("boards_search_boards", "Search Boards", "Searches for boards."),
		mk("boards_get_member", "Get Member", "Gets a member."),
		mk("boards_create_webhook", "Create Webhook", "Creates a webhook."),
	})
	for _, q := range []string{"add a card", "add a card to the board"} {
		if got := tools(ix.Search(Query{Text: q, Limit: 1})); !reflect.DeepEqual(got, []string{"boards_create_card"}) {
			t.Errorf("%q: got %v", q, got)
		}
	}
}
