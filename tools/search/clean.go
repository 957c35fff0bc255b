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
		c := s[i]
		switch {
		case c == '[':
			// [text](url)
			end := strings.IndexByte(s[i:], ']')
			if end > 0 && i+end+1 < len(s) && s[i+end+1] == '(' {
				closeParen := strings.IndexByte(s[i+end+1:], ')')
				if closeParen > 0 {
					text := s[i+1 : i+end]
					if !boilerplateLink(text) {
						b.WriteString(text)
					}
					i += end + 1 + closeParen + 1
					continue
				}
			}
		case c == '(' && hasURLPrefix(s[i+1:]):
			if end := strings.IndexByte(s[i:], ')'); end > 0 {
				i += end + 1
				continue
			}
		case hasURLPrefix(s[i:]) && (i == 0 || !isWordByte(s[i-1])):
			for i < len(s) && s[i] != ' ' && s[i] != '\n' && s[i] != '\t' && s[i] != ')' {
				i++
			}
			continue
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
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
