package search

import (
	"reflect"
	"strings"
	"testing"
)

func TestClosest(t *testing.T) {
	ix := Build(corpus())
	for _, tc := range []struct {
		name string
		want string // must be first
	}{
		{"github_issue_create", "github_create_issue"},
		{"slack_send_mesage_to_channel", "slack_send_message_to_channel"},
		{"slack_send_message_to_chanel", "slack_send_message_to_channel"},
		{"slack-send-message-to-channel", "slack_send_message_to_channel"},
		{"Slack_Send_Message_To_Channel", "slack_send_message_to_channel"},
		{"send_message_to_channel", "slack_send_message_to_channel"},
		{"slack_send_dm", "slack_send_direct_message"},
		{"github_create_issues", "github_create_issue"},
		{"jira_create_ticket", "jira_create_issue"},
		{"google_sheets_add_row", "google_sheets_add_single_row"},
		{"gmail_send_mail", "gmail_send_email"},
		{"hubspot_contact_create", "hubspot_create_contact"},
		{"notion_serach", "notion_search"},
	} {
		got := ix.Closest(tc.name, 3, nil)
		if len(got) == 0 || got[0] != tc.want {
			t.Errorf("Closest(%q) = %v, want %s first", tc.name, got, tc.want)
		}
		if len(got) > 3 {
			t.Errorf("Closest(%q) returned %d names", tc.name, len(got))
		}
	}
}

func TestClosestAmbiguous(t *testing.T) {
	ix := Build(corpus())
	for _, tc := range []struct {
		name string
		want []string // all in the top 3
	}{
		{"slack_send_message", []string{"slack_send_message_to_channel", "slack_send_direct_message"}},
		{"slack_post_message", []string{"slack_send_message_to_channel", "slack_send_direct_message"}},
		{"sheets_add_row", []string{"google_sheets_add_single_row", "google_sheets_add_multiple_rows"}},
	} {
		got := ix.Closest(tc.name, 3, nil)
		for _, w := range tc.want {
			found := false
			for _, g := range got {
				found = found || g == w
			}
			if !found {
				t.Errorf("Closest(%q) = %v, want %s in it", tc.name, got, w)
			}
		}
	}
}

func TestClosestAllowAndLimits(t *testing.T) {
	ix := Build(corpus())
	onlyJira := func(d *Doc) bool { return d.App == "jira" }
	got := ix.Closest("github_create_issue", 5, onlyJira)
	if len(got) == 0 || got[0] != "jira_create_issue" {
		t.Errorf("allow: got %v, want jira_create_issue first", got)
	}
	for _, g := range got {
		if !strings.HasPrefix(g, "jira_") {
			t.Errorf("allow: %s is not allowed", g)
		}
	}
	if got := ix.Closest("slack_send_message", 0, nil); got != nil {
		t.Errorf("n=0: %v", got)
	}
	if got := ix.Closest("qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq", 3, nil); len(got) != 0 {
		t.Errorf("nothing similar: got %v", got)
	}
	// A huge name is cut, not compared in full.
	huge := "slack_send_message_to_channel" + strings.Repeat("x", 1<<20)
	if got := ix.Closest(huge, 3, nil); len(got) > 3 {
		t.Errorf("huge name: %v", got)
	}
	// Deterministic.
	a := ix.Closest("slack_mesage", 5, nil)
	b := Build(corpus()).Closest("slack_mesage", 5, nil)
	if !reflect.DeepEqual(a, b) || len(a) == 0 {
		t.Errorf("not deterministic or empty: %v vs %v", a, b)
	}
}

func TestClosestNames(t *testing.T) {
	var names []string
	for _, d := range corpus() {
		names = append(names, d.Tool)
	}
	for _, tc := range []struct {
		name, want string
	}{
		{"slack_send_mesage_to_channel", "slack_send_message_to_channel"},
		{"slack-send-message-to-channel", "slack_send_message_to_channel"},
		{"github_create_issues", "github_create_issue"},
		{"github_issue_create", "github_create_issue"},
		{"notion_serach", "notion_search"},
		{"gmail_send_emails", "gmail_send_email"},
	} {
		got := ClosestNames(tc.name, names, 3)
		if len(got) == 0 || got[0] != tc.want {
			t.Errorf("ClosestNames(%q) = %v, want %s first", tc.name, got, tc.want)
		}
	}
	// Ties by name, duplicates once, n respected.
	got := ClosestNames("item_a3", []string{"item_a2", "item_a4", "item_a2", "item_a1"}, 2)
	if !reflect.DeepEqual(got, []string{"item_a1", "item_a2"}) {
		t.Errorf("ties: got %v", got)
	}
	if got := ClosestNames("zzzzzzzzzzzz", []string{"slack_send_message"}, 3); len(got) != 0 {
		t.Errorf("nothing similar: got %v", got)
	}
	if got := ClosestNames("x", nil, 3); len(got) != 0 {
		t.Errorf("no names: got %v", got)
	}
}

func TestOSADistance(t *testing.T) {
	var o osaBuf
	for _, tc := range []struct {
		a, b  string
		bound int
		want  int
	}{
		{"", "", -1, 0},
		{"abc", "", -1, 3},
		{"", "abc", -1, 3},
		{"kitten", "sitting", -1, 3},
		{"send", "sned", -1, 1},
		{"message", "mesage", -1, 1},
		{"ca", "abc", -1, 3},
		{"kitten", "sitting", 1, 2},
		{"abcdef", "ab", 2, 3},
	} {
		if got := o.distance(tc.a, tc.b, tc.bound); got != tc.want {
			t.Errorf("distance(%q, %q, %d) = %d, want %d", tc.a, tc.b, tc.bound, got, tc.want)
		}
	}
}
