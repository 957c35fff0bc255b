package search

import (
	"reflect"
	"testing"
)

func TestStem(t *testing.T) {
	for _, group := range [][]string{
		{"message", "messages", "messaging"},
		{"issue", "issues"},
		{"create", "created", "creating", "creates", "creation"},
		{"update", "updated", "updates", "updating"},
		{"delete", "deleted", "deletes", "deleting", "deletion"},
		{"reply", "replies", "replied", "replying"},
		{"company", "companies"},
		{"entry", "entries"},
		{"get", "gets", "getting"},
		{"set", "sets", "setting", "settings"},
		{"add", "adds", "added", "adding"},
		{"send", "sends", "sending", "sent"},
		{"find", "finds", "finding", "found"},
		{"list", "lists", "listing", "listed"},
		{"row", "rows"},
		{"file", "files"},
		{"meet", "meeting", "meetings"},
		{"schedule", "scheduled", "scheduling", "schedules"},
		{"address", "addresses"},
		{"alias", "aliases"},
		{"status", "statuses"},
		{"branch", "branches"},
		{"box", "boxes"},
		{"match", "matches", "matched", "matching"},
		{"copy", "copies", "copied"},
		{"call", "calls", "calling", "called"},
		{"map", "maps", "mapped", "mapping"},
		{"share", "shared", "sharing"},
		{"connect", "connection", "connections"},
		{"repository", "repositories"},
		{"key", "keys"},
		{"employee", "employees"},
	} {
		want := stem(group[0])
		for _, w := range group[1:] {
			if got := stem(w); got != want {
				t.Errorf("stem(%q) = %q, stem(%q) = %q: want equal", w, got, group[0], want)
			}
		}
	}
	for w, want := range map[string]string{
		"message": "messag", "messages": "messag", "issues": "issu", "created": "creat",
		"string": "string", "strings": "string", "thing": "thing", "spring": "spring",
		"need": "need", "feed": "feed", "news": "news", "status": "status", "analysis": "analysis",
		"access": "access", "class": "class", "this": "this", "bus": "bus",
		"action": "action", "actions": "action", "option": "option", "options": "option",
		"customer": "customer", "user": "user", "users": "user", "free": "free",
		"oauth2": "oauth2", "v2": "v2", "café": "café", "über": "über",
		"ids": "ids", "add": "add", "use": "use",
	} {
		if got := stem(w); got != want {
			t.Errorf("stem(%q) = %q, want %q", w, got, want)
		}
	}
}

func TestTokenize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"Send Message to Channel", []string{"send", "messag", "channel"}},
		{"slack-send-message-to-channel", []string{"slack", "send", "messag", "channel"}},
		{"google_sheets_add_single_row", []string{"googl", "sheet", "add", "singl", "row"}},
		{"sendMessageToChannel", []string{"send", "messag", "channel", "sendmessagetochannel"}},
		{"HTTPRequest repoFullname", []string{"http", "request", "httprequest", "repo", "fullnam", "repofullnam"}},
		{"GitHub HubSpot", []string{"git", "hub", "github", "hub", "spot", "hubspot"}},
		{"OAuth2 token for S3", []string{"oauth2", "token", "s3"}},
		{"the a an of my please", nil},
		{"Add label(s) to an email message.", []string{"add", "label", "email", "messag"}},
		{"Ünïcode Wörds", []string{"ünïcode", "wörds"}},
		{"", nil},
		{"a b c 1 2", nil},
	} {
		if got := tokenize(nil, tc.in, nil); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("tokenize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDescriptionTokensSkipURLs(t *testing.T) {
	doc := Doc{
		Tool:        "x_send",
		Description: "Send a message to a channel. [See the documentation](https://api.slack.com/methods/chat.postMessage) Also see https://example.com/foo_bar?x=1 and [the API docs](http://docs.example.com).",
	}
	toks := fieldTokens(nil, nil, &doc, fieldDesc)
	for _, junk := range []string{"http", "https", "api", "com", "slack", "method", "chat", "postmessag", "foo", "bar", "exampl", "documentation", "see"} {
		for _, tok := range toks {
			if tok == junk {
				t.Errorf("description token %q from a URL or boilerplate: %q", junk, toks)
			}
		}
	}
	if !reflect.DeepEqual(toks[:3], []string{"send", "messag", "channel"}) {
		t.Errorf("tokens = %q", toks)
	}
}

func TestCleanDescription(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"Send a message to a channel. [See the documentation](https://api.slack.com/methods/chat.postMessage)", 0, "Send a message to a channel"},
		{"Get a [repository](https://docs.github.com/repos) by name.", 0, "Get a repository by name"},
		{"Find rows. See https://developers.google.com/sheets for details.", 0, "Find rows. See for details"},
		{"Plain text", 0, "Plain text"},
		{"one two three four five six seven eight", 20, "one two three…"},
		{"one two three four five six seven eight", 22, "one two three four…"},
		{"Ünïcödé ünïcödé ünïcödé", 12, "Ünïcöd…"},
		{"[See docs](https://x.y)", 0, ""},
		{"broken [link(https://x", 0, "broken [link"},
	} {
		if got := CleanDescription(tc.in, tc.max); got != tc.want {
			t.Errorf("CleanDescription(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
		if tc.max > 0 && len(CleanDescription(tc.in, tc.max)) > tc.max {
			t.Errorf("CleanDescription(%q, %d) too long", tc.in, tc.max)
		}
	}
}

func TestSynonymTable(t *testing.T) {
	has := func(from, to string) (float64, bool) {
		for _, s := range synonyms[stem(from)] {
			if s.stem == stem(to) {
				return s.weight, true
			}
		}
		return 0, false
	}
	for _, tc := range [][2]string{
		{"post", "send"}, {"find", "search"}, {"find", "get"}, {"list", "find"},
		{"add", "create"}, {"new", "create"}, {"edit", "update"}, {"remove", "delete"},
		{"ticket", "issue"}, {"issue", "ticket"}, {"row", "record"}, {"email", "mail"},
		{"spreadsheet", "sheet"}, {"meeting", "event"}, {"repo", "repository"},
		{"message", "send"}, {"dm", "direct"},
	} {
		if _, ok := has(tc[0], tc[1]); !ok {
			t.Errorf("%q should expand to %q", tc[0], tc[1])
		}
	}
	// One-way: a message is sent, but "send" is not a message.
	if _, ok := has("send", "message"); ok {
		t.Errorf("send must not expand to message")
	}
	if w, _ := has("repo", "repository"); w != weightClose {
		t.Errorf("repo -> repository weight %v, want the close weight", w)
	}
	if w, _ := has("find", "search"); w <= weightLoose {
		t.Errorf("find -> search weight %v, want above the loose weight", w)
	}
	for from, list := range synonyms {
		for i, s := range list {
			if s.stem == from {
				t.Errorf("%q expands to itself", from)
			}
			if i > 0 && list[i-1].stem >= s.stem {
				t.Errorf("%q: expansions not sorted", from)
			}
		}
	}
}

func TestAppTokens(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"google_sheets", []string{"googl", "sheet", "googlesheet"}},
		{"Google Sheets", []string{"googl", "sheet", "googlesheet"}},
		{"GitHub", []string{"git", "hub", "github"}},
		{"slack", []string{"slack"}},
		{"slack_v2", []string{"slack", "v2", "slackv2"}},
	} {
		if got := appTokens(nil, nil, tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("appTokens(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
