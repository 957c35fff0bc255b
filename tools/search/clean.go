package search

import (
	"strings"
	"unicode/utf8"
)

// CleanDescription returns an action description fit for a search result:
// Markdown links keep their text but lose their URL, boilerplate links ("[See
// the documentation](https://...)") and bare URLs are removed, white space is
// collapsed, and the result is cut at a word boundary to at most max bytes
// (ending in "…"; max <= 0 means no limit).
func CleanDescription(s string, max int) string {
	s = strings.Join(strings.Fields(stripLinks(s)), " ")
	s = strings.TrimRight(s, " .,;:-–—(")
	if max <= 0 || len(s) <= max {
		return s
	}
	const ellipsis = "…"
	cut := max - len(ellipsis)
	if cut <= 0 {
		return ""
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if sp := strings.LastIndexByte(s[:cut], ' '); sp > cut/2 {
		cut = sp
	}
	return strings.TrimRight(s[:cut], " .,;:-–—(") + ellipsis
}

// stripLinks removes URLs from Markdown text: "[text](url)" becomes "text",
// or nothing when text is boilerplate ("See the documentation", "here"); a
// bare "http://", "https://" or "www." word is dropped; a "(" + URL + ")" left
// over (for example after a reference-style link) is dropped too.
func stripLinks(s string) string {
	if !strings.Contains(s, "](") && !strings.Contains(s, "http") && !strings.Contains(s, "www.") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		// Only these bytes start a link or a URL; skip the call for others.
		if c := s[i]; c == '[' || c == '(' || c == 'h' || c == 'w' {
			if next := skipLink(&b, s, i); next > i {
				i = next
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// skipLink reads the Markdown link, parenthesized URL or bare URL that starts
// at s[i], writes the text kept of it (a link's text unless boilerplate) to b
// and returns the index just after it; it returns i when none starts there.
func skipLink(b *strings.Builder, s string, i int) int {
	switch c := s[i]; {
	case c == '[':
		return skipMarkdownLink(b, s, i)
	case c == '(' && hasURLPrefix(s[i+1:]):
		if end := strings.IndexByte(s[i:], ')'); end > 0 {
			return i + end + 1
		}
	case hasURLPrefix(s[i:]) && (i == 0 || !isWordByte(s[i-1])):
		return skipURL(s, i)
	}
	return i
}

// skipMarkdownLink reads "[text](url)" at s[i] (a "["), writes text to b
// unless it is boilerplate and returns the index just after it; it returns i
// when s[i:] does not start with such a link.
func skipMarkdownLink(b *strings.Builder, s string, i int) int {
	end := strings.IndexByte(s[i:], ']')
	if end <= 0 || i+end+1 >= len(s) || s[i+end+1] != '(' {
		return i
	}
	closeParen := strings.IndexByte(s[i+end+1:], ')')
	if closeParen <= 0 {
		return i
	}
	if text := s[i+1 : i+end]; !boilerplateLink(text) {
		b.WriteString(text)
	}
	return i + end + 1 + closeParen + 1
}

// skipURL returns the index just after the bare URL at s[i]: at the next
// white space or ")".
func skipURL(s string, i int) int {
	for i < len(s) && s[i] != ' ' && s[i] != '\n' && s[i] != '\t' && s[i] != ')' {
		i++
	}
	return i
}

func hasURLPrefix(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "www.")
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// boilerplateLink reports whether a Markdown link's text only points at
// documentation ("See the documentation", "docs", "here", "Learn more").
func boilerplateLink(text string) bool {
	t := strings.ToLower(strings.TrimSpace(text))
	if strings.HasPrefix(t, "see ") || strings.Contains(t, "documentation") || strings.Contains(t, "docs") {
		return true
	}
	switch t {
	case "", "here", "link", "this", "learn more", "more", "reference", "api reference", "api":
		return true
	}
	return false
}
