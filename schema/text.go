package schema

import (
	"html"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxDescription is the length (in runes) a prop's own description is cut to. Some
// components carry whole help pages; a tool list is read by a model on every turn.
const maxDescription = 1000

// maxOptionList bounds the option listing appended to a description.
const maxOptionList = 1000

var (
	// [text](url) and ![alt](url); the URL has no spaces or closing parenthesis.
	mdLink = regexp.MustCompile(`!?\[([^\[\]]*)\]\(([^()\s]+)\)`)
	// tags that end a line or a block when HTML is flattened to text
	listItem = regexp.MustCompile(`(?i)<\s*li\b[^>]*>`)
	blockTag = regexp.MustCompile(`(?i)<\s*/?\s*(br|p|div|li|ul|ol|h[1-6]|tr|table|blockquote|pre)\b[^>]*>`)
	anyTag   = regexp.MustCompile(`<[^<>]*>`)
)

// readableLinks turns markdown links into "text (url)", or the bare URL when the
// text is empty or is the URL itself, so a model reading plain text keeps both.
func readableLinks(s string) string {
	if !strings.Contains(s, "](") {
		return s
	}
	return mdLink.ReplaceAllStringFunc(s, func(m string) string {
		sub := mdLink.FindStringSubmatch(m)
		text, url := strings.TrimSpace(sub[1]), sub[2]
		if text == "" || text == url {
			return url
		}
		return text + " (" + url + ")"
	})
}

// cleanDescription prepares a prop description: valid UTF-8, readable links,
// trailing spaces removed from each line, and cut to maxDescription runes.
func cleanDescription(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = readableLinks(s)
	s = tidyLines(s)
	return cut(s, maxDescription)
}

// plainText flattens HTML (alert contents) to text: list items become "- " lines,
// other block tags line breaks, remaining tags disappear, entities are decoded,
// links are made readable and empty lines dropped.
func plainText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = listItem.ReplaceAllString(s, "\n- ")
	s = blockTag.ReplaceAllString(s, "\n")
	s = anyTag.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	s = readableLinks(s)
	s = strings.ReplaceAll(tidyLines(s), "\n\n", "\n")
	return cut(s, maxDescription)
}

// tidyLines collapses runs of spaces inside lines, trims each line and keeps at
// most one empty line in a row.
func tidyLines(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := false
	for _, l := range lines {
		l = strings.Join(strings.FieldsFunc(l, func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' }), " ")
		if l == "" {
			if blank || len(out) == 0 {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, l)
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, "\n")
}

// oneLine collapses all whitespace (labels, option labels).
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
}

// cut shortens s to at most n runes, on a word boundary when one is near the end,
// and marks the cut with "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	// byte offset of rune n-1 (room for the ellipsis)
	end, i := 0, 0
	for off := range s {
		if i == n-1 {
			end = off
			break
		}
		i++
	}
	head := s[:end]
	if sp := strings.LastIndexFunc(head, unicode.IsSpace); sp > len(head)*3/4 {
		head = head[:sp]
	}
	return strings.TrimRightFunc(head, func(r rune) bool { return unicode.IsSpace(r) || r == ',' || r == ';' }) + "…"
}

// sentence ends s with a full stop when it ends in a letter, a digit or a closing
// quote or parenthesis, so the hints appended after it read as separate sentences.
func sentence(s string) string {
	r, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '"' || r == ')' || r == '`' {
		return s + "."
	}
	return s
}

// short gives the first sentence (or line) of s, at most n runes: the reminder of
// what a field is, in an error message.
func short(s string, n int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i]
	}
	return cut(strings.TrimSuffix(s, "."), n)
}
