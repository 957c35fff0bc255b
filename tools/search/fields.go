package search

import (
	"strings"
	"unicode"
)

// Field weights and length normalisation for BM25F. A word in the action's
// name counts most; the app counts as much so that naming the app finds its
// actions; the key mostly repeats the name, so it adds a little; prop labels
// and the description count least.
const (
	fieldApp = iota
	fieldName
	fieldKey
	fieldProps
	fieldDesc
	numFields
)

var (
	fieldWeight = [numFields]float64{fieldApp: 3.0, fieldName: 3.0, fieldKey: 1.2, fieldProps: 0.5, fieldDesc: 0.8}
	fieldB      = [numFields]float64{fieldApp: 0.3, fieldName: 0.5, fieldKey: 0.5, fieldProps: 0.6, fieldDesc: 0.75}
)

// bm25K1 is BM25's term-frequency saturation: higher spreads the field weights
// further apart.
const bm25K1 = 1.6

// addSurface records the words of doc d's name as written (lower-cased, not
// stemmed), so a query saying "row" can prefer "Add Single Row" to "Add
// Multiple Rows".
func (ix *Index) addSurface(d int, name string) {
	splitWords(name, func(w []byte) {
		if len(w) < 2 || stopwords[string(w)] {
			return
		}
		docs := ix.surface[string(w)]
		if len(docs) == 0 || docs[len(docs)-1] != int32(d) {
			ix.surface[string(w)] = append(docs, int32(d))
		}
	})
}

// fieldTokens appends the stems of one field of doc to dst.
func fieldTokens(c *tokenizer, dst []string, doc *Doc, field int) []string {
	switch field {
	case fieldApp:
		// Each word once: the slug and the name mostly say the same thing.
		start := len(dst)
		dst = appTokens(c, dst, doc.App)
		dst = appTokens(c, dst, doc.AppName)
		for _, a := range doc.AppAliases {
			dst = appTokens(c, dst, a)
		}
		return uniq(dst, start)
	case fieldName:
		return c.tokenize(dst, doc.Name, nil)
	case fieldKey:
		return c.tokenize(dst, keyRest(doc), nil)
	case fieldProps:
		for _, l := range doc.PropLabels {
			dst = c.tokenize(dst, l, nil)
		}
		return dst
	case fieldDesc:
		return c.tokenize(dst, stripLinks(doc.Description), descStopwords)
	}
	return dst
}

// appTokens appends the words of an app name and, for a name of several
// words, the words run together ("google_sheets" -> google, sheet,
// googlesheet), so "googlesheets" finds it too.
func appTokens(c *tokenizer, dst []string, name string) []string {
	start := len(dst)
	dst = c.tokenize(dst, name, nil)
	if len(dst)-start > 1 {
		var joined strings.Builder
		for _, r := range name {
			if isWordRune(r) {
				joined.WriteRune(unicode.ToLower(r))
			}
		}
		if j := stem(joined.String()); j != dst[len(dst)-1] {
			dst = append(dst, j)
		}
	}
	return dst
}

// uniq removes repeated tokens from dst[start:], keeping first occurrences.
func uniq(dst []string, start int) []string {
	out := dst[:start]
	for i := start; i < len(dst); i++ {
		dup := false
		for _, t := range out[start:] {
			if t == dst[i] {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, dst[i])
		}
	}
	return out
}

// keyRest is the action key without its app prefix ("send-message-to-channel"
// for "slack-send-message-to-channel").
func keyRest(doc *Doc) string {
	if doc.Action == "" {
		return ""
	}
	if doc.App != "" && strings.HasPrefix(doc.Action, doc.App+"-") {
		return doc.Action[len(doc.App)+1:]
	}
	if i := strings.IndexByte(doc.Action, '-'); i >= 0 {
		return doc.Action[i+1:]
	}
	return doc.Action
}

// verbModifiers come before the real verb in some keys
// ("batch-create-companies", "bulk-archive-emails").
var verbModifiers = map[string]bool{"batch": true, "bulk": true}

// actionVerb is the stem of the action's verb: the first word of its key after
// the app prefix (of its name if the key has no word), skipping "batch" and
// "bulk". A doc without a key (an app, say) has no verb.
func actionVerb(c *tokenizer, doc *Doc) string {
	if doc.Action == "" {
		return ""
	}
	var buf [8]string
	for _, s := range []string{keyRest(doc), doc.Name} {
		toks := c.tokenize(buf[:0], s, nil)
		for _, t := range toks {
			if !verbModifiers[t] {
				return t
			}
		}
	}
	return ""
}
