package schema

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly ten", 11, "exactly ten"},
		{"one two three four five", 16, "one two three…"},
		{"one two three four five", 12, "one two thr…"}, // no space near the end: cut inside the word
		{"aaaaaaaaaaaaaaaaaaaa", 10, "aaaaaaaaa…"},
		{"ééééééééééé", 5, "éééé…"},
		{"words, with, commas, here", 13, "words, with…"},
	}
	for _, tc := range tests {
		if got := cut(tc.in, tc.n); got != tc.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
		if got := cut(tc.in, tc.n); utf8.RuneCountInString(got) > tc.n {
			t.Errorf("cut(%q, %d) is %d runes long", tc.in, tc.n, utf8.RuneCountInString(got))
		}
	}
}

func TestCleanDescriptionLimitsLength(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 500)
	got := cleanDescription(long)
	if n := utf8.RuneCountInString(got); n > maxDescription || n < maxDescription-30 {
		t.Errorf("cleaned length %d, want just under %d", n, maxDescription)
	}
	if !strings.HasSuffix(got, "word…") {
		t.Errorf("cut not on a word boundary: %q", got[len(got)-20:])
	}
}

func TestReadableLinks(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"See [the docs](https://x.test/a).", "See the docs (https://x.test/a)."},
		{"[https://x.test](https://x.test)", "https://x.test"},
		{"![logo](https://x.test/l.png)", "logo (https://x.test/l.png)"},
		{"[](https://x.test/e)", "https://x.test/e"},
		{"no links [here] (really)", "no links [here] (really)"},
		{"two [a](https://a.test) and [b](https://b.test)", "two a (https://a.test) and b (https://b.test)"},
	}
	for _, tc := range tests {
		if got := readableLinks(tc.in); got != tc.want {
			t.Errorf("readableLinks(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPlainText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"<p>Hello <b>world</b></p>", "Hello world"},
		{"a<br>b<br/>c", "a\nb\nc"},
		{"<ul><li>one</li><li>two</li></ul>", "- one\n- two"},
		{"Tom &amp; Jerry &lt;3 &quot;x&quot;", `Tom & Jerry <3 "x"`},
		{`<a href="https://x.test">link</a> and [md](https://y.test)`, "link and md (https://y.test)"},
		{"  spaced   out  ", "spaced out"},
	}
	for _, tc := range tests {
		if got := plainText(tc.in); got != tc.want {
			t.Errorf("plainText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWriteStringRoundTrips(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", `q"uote\back`, "<b>&amp;</b>", "tab\tnl\ncr\r", "\x00\x01\x1f", "\u2028\u2029", "bad \xff utf8", "emoji 😀"} {
		var b bytes.Buffer
		writeString(&b, s)
		if bytes.Contains(b.Bytes(), []byte(`\u003c`)) {
			t.Errorf("writeString(%q) escaped HTML: %s", s, b.Bytes())
		}
		var back string
		if err := json.Unmarshal(b.Bytes(), &back); err != nil {
			t.Errorf("writeString(%q) = %s: not JSON: %v", s, b.Bytes(), err)
			continue
		}
		if want := strings.ToValidUTF8(s, "\uFFFD"); back != want {
			t.Errorf("writeString(%q) round-trips to %q", s, back)
		}
	}
}
