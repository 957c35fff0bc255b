package search

import (
	"testing"
	"unicode/utf8"
)

// FuzzSearch checks that any query text, app filter and wrong tool name are
// handled without a panic, with hits in order and suggestions bounded. Under
// plain go test it runs the seeds only.
func FuzzSearch(f *testing.F) {
	for _, s := range []string{"", "post a message to slack", "SendMessageToChannel", "ünïcode ☃ 日本語",
		"[See the documentation](https://x)", "a\x00b\xffc", "slack_send_mesage", "what is new", "-_-_-",
		"let the team know in #deploys", "let", "look him up", "make a", "to-do", "jane@acme.com", "#", "-a-", "GitHub issue"} {
		f.Add(s, "slack")
		f.Add(s, "")
	}
	ix := Build(corpus())
	f.Fuzz(func(t *testing.T, text, app string) {
		hits := ix.Search(Query{Text: text, App: app, Limit: 10})
		if len(hits) > 10 {
			t.Fatalf("%d hits", len(hits))
		}
		for i := 1; i < len(hits); i++ {
			if hits[i-1].Score < hits[i].Score {
				t.Fatalf("hits out of order for %q", text)
			}
		}
		if got := ix.Closest(text, 3, nil); len(got) > 3 {
			t.Fatalf("Closest: %d names", len(got))
		}
		_ = ix.Apps(text)
		_ = ClosestNames(text, []string{"a_b", "slack_send_message"}, 2)
		clean := CleanDescription(text, 50)
		if len(clean) > 50 || (utf8.ValidString(text) && !utf8.ValidString(clean)) {
			t.Fatalf("CleanDescription(%q) = %q", text, clean)
		}
		for _, tok := range tokenize(nil, text, nil) {
			if tok == "" || stem(tok) == "" {
				t.Fatalf("empty token from %q", text)
			}
		}
	})
}
