package tools

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAssignToolNames(t *testing.T) {
	long := "pd_edge-" + strings.Repeat("very-long-segment-", 6)
	keys := []string{"pd_edge-foo-bar", "pd_edge-foo_bar", "other-prefix-key", long}
	taken := map[string]bool{"pipedream_accounts": true}
	got := assignToolNames("edge", "pd_edge", keys, taken)
	if got["pd_edge-foo-bar"] != "edge_foo_bar" {
		t.Errorf("plain name = %q", got["pd_edge-foo-bar"])
	}
	if n := got["pd_edge-foo_bar"]; !strings.HasPrefix(n, "edge_foo_bar_") || len(n) != len("edge_foo_bar_")+8 {
		t.Errorf("colliding key must get a hash suffix, got %q", n)
	}
	if got["other-prefix-key"] != "edge_other_prefix_key" {
		t.Errorf("a key without the app prefix keeps its whole key: %q", got["other-prefix-key"])
	}
	if n := got[long]; len(n) != maxToolName || !ValidToolName(n) {
		t.Errorf("long name = %q (%d chars)", n, len(n))
	}
	again := assignToolNames("edge", "pd_edge", keys, map[string]bool{"pipedream_accounts": true})
	for k := range got {
		if got[k] != again[k] {
			t.Errorf("names are not deterministic for %s: %q vs %q", k, got[k], again[k])
		}
	}
}

func TestFitDescription(t *testing.T) {
	notes := "\n\nValid values come from pipedream_list_options."
	short := fitDescription("Sends a message.", notes, maxToolDescription)
	if short != "Sends a message."+notes {
		t.Errorf("short descriptions are kept whole: %q", short)
	}
	long := fitDescription(strings.Repeat("word ", 400), notes, maxToolDescription)
	if n := utf8.RuneCountInString(long); n > maxToolDescription {
		t.Errorf("description is %d characters, want at most %d", n, maxToolDescription)
	}
	if !strings.HasSuffix(long, notes) || !strings.Contains(long, "…") {
		t.Errorf("the action text is cut first and the notes kept: %q", long[len(long)-120:])
	}
}
