package search

import "strings"

// This file reads a query as an agent writes it, before stemming: values are
// dropped, brand names and hyphenated words are kept whole, and phrasal verbs
// ("set up", "look up") become the verb they stand for.

// phrasalVerbs maps a verb and its particle to the plain verb they mean. The
// particle may follow the verb directly or after a pronoun ("look him up").
// "let ... know" is handled apart, with any short object in between.
var phrasalVerbs = map[[2]string]string{
	{"set", "up"}: "create", {"sign", "up"}: "register",
	{"look", "up"}: "find", {"pull", "up"}: "get", {"bring", "up"}: "get",
	{"find", "out"}: "find", {"check", "off"}: "complete", {"tick", "off"}: "complete",
	{"cross", "off"}: "complete", {"wrap", "up"}: "complete",
	{"throw", "away"}: "delete", {"throw", "out"}: "delete", {"clean", "up"}: "delete",
	{"write", "down"}: "create", {"jot", "down"}: "create", {"note", "down"}: "create",
	{"back", "up"}: "copy", {"reach", "out"}: "send", {"turn", "off"}: "stop",
	{"turn", "on"}: "start", {"kick", "off"}: "start", {"hand", "over"}: "transfer",
	{"get", "rid"}: "delete",
}

// lightVerbs map a light verb and the noun it takes to the verb they mean
// together ("make a copy" -> "copy"), articles allowed in between.
var lightVerbs = map[[2]string]string{
	{"make", "copy"}: "copy", {"make", "copies"}: "copy", {"make", "change"}: "update",
	{"make", "changes"}: "update", {"make", "edit"}: "edit", {"make", "edits"}: "edit",
	{"get", "list"}: "list", {"show", "list"}: "list", {"give", "list"}: "list",
	{"do", "search"}: "search", {"run", "search"}: "search", {"take", "note"}: "note",
}

// articles may sit between a light verb and its noun.
var articles = toSet(`a an the some`)

// particleObjects are the words that may sit between a verb and its particle.
var particleObjects = toSet(`it him her them this that these those me us one`)

// queryWords returns the lower-case words of a query as written, stopwords
// included, in order, read as an agent means them:
//   - values are dropped: e-mail addresses and URLs say nothing about the
//     action ("look up jane@acme.com"); a channel written as chat apps write
//     it ("#deploys") is read as the word "channel";
//   - a word written as one run but split at case changes ("GitHub",
//     "HubSpot") stays whole when the index knows it whole, and is read as its
//     parts otherwise ("SendMessageToChannel");
//   - two words joined by a hyphen ("to-do", "e-mail") are read as one word
//     when the index or the synonym table knows it;
//   - a phrasal verb becomes its plain verb ("set up" -> "create", "let the
//     team know" -> "notify"), and so does a light verb with its noun ("make
//     a copy" -> "copy").
func (ix *Index) queryWords(text string) []string {
	var words []string
	for _, field := range strings.Fields(stripLinks(text)) {
		if isValue(field) {
			continue
		}
		if isChannelRef(field) {
			words = append(words, "channel") // "#deploys": a channel's name
			continue
		}
		if j, ok := ix.hyphenCompound(field); ok {
			words = append(words, j)
			continue
		}
		words = ix.appendRuns(words, field)
	}
	return rewritePhrasal(words)
}

// isValue reports whether a query word is a value rather than a word: an
// e-mail address or a URL.
func isValue(field string) bool {
	if at := strings.IndexByte(field, '@'); at > 0 && strings.IndexByte(field[at:], '.') > 0 {
		return true
	}
	return hasURLPrefix(field)
}

// isChannelRef reports whether a query word names a channel the way chat
// apps write it: "#general", "#team-deploys".
func isChannelRef(field string) bool {
	return len(field) > 1 && field[0] == '#' && isLetterByte(field[1])
}

func isLetterByte(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// hyphenCompound returns the word two hyphenated words of field make
// together ("to-do" -> "todo"), when the index or the synonym table knows it.
func (ix *Index) hyphenCompound(field string) (string, bool) {
	field = strings.Trim(field, `.,;:!?'"()[]{}`)
	i := strings.IndexByte(field, '-')
	if i <= 0 || i == len(field)-1 || strings.Count(field, "-") != 1 {
		return "", false
	}
	joined := strings.ToLower(field[:i] + field[i+1:])
	if !isASCIILower(joined) {
		return "", false
	}
	s := stem(joined)
	if _, ok := ix.vocab[s]; ok || len(synonyms[s]) > 0 {
		return joined, true
	}
	return "", false
}

// appendRuns appends the words of field: each run of letters and digits,
// split at case changes unless the index knows the run whole.
func (ix *Index) appendRuns(words []string, field string) []string {
	var run []string
	flush := func() {
		if len(run) == 0 {
			return
		}
		// splitWords passes a split run's parts and then the run whole.
		if n := len(run); n > 1 {
			whole := run[n-1]
			if _, ok := ix.vocab[stem(whole)]; ok {
				words = append(words, whole)
			} else {
				words = append(words, run[:n-1]...)
			}
		} else {
			words = append(words, run[0])
		}
		run = run[:0]
	}
	start := -1
	for i, r := range field + " " {
		if isWordRune(r) && i < len(field) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			splitWords(field[start:i], func(w []byte) { run = append(run, string(w)) })
			flush()
			start = -1
		}
	}
	return words
}

// rewritePhrasal replaces phrasal and light verbs in words by their plain
// verb.
func rewritePhrasal(words []string) []string {
	out := make([]string, 0, len(words))
	for i := 0; i < len(words); i++ {
		out, i = appendReading(out, words, i)
	}
	return out
}

// appendReading appends to out the reading of words from words[i]: the plain
// verb of a phrasal or light verb that starts there (with what it encloses
// that still counts), else words[i] itself. It returns the index of the last
// word read.
func appendReading(out, words []string, i int) ([]string, int) {
	if j, ok := letKnow(words, i); ok {
		out = append(out, "notify")
		return append(out, words[i+1:j]...), j
	}
	if v, j, ok := lightVerbAt(words, i); ok {
		return append(out, v), j
	}
	if v, j, ok := phrasalVerbAt(words, i); ok {
		out = append(out, v)
		if j == i+2 {
			out = append(out, words[i+1]) // the object: "look him up"
		}
		return out, j
	}
	return append(out, words[i]), i
}

// letKnow reports whether words[i] starts "let ... know" ("let the team
// know", "let Bob know": notify) and returns the index of "know". "let me
// know" asks the one searching, and is not one.
func letKnow(words []string, i int) (int, bool) {
	if w := words[i]; (w != "let" && w != "lets") || i+1 >= len(words) || words[i+1] == "me" || words[i+1] == "us" {
		return 0, false
	}
	for j := i + 1; j < len(words) && j <= i+4; j++ {
		if words[j] == "know" {
			return j, true
		}
	}
	return 0, false
}

// lightVerbAt reports whether words[i] starts a light verb with its noun
// ("make a copy") and returns the verb they mean and the index of the noun.
func lightVerbAt(words []string, i int) (string, int, bool) {
	j := i + 1
	if j >= len(words) {
		return "", 0, false
	}
	if articles[words[j]] && j+1 < len(words) {
		j++
	}
	v, ok := lightVerbs[[2]string{words[i], words[j]}]
	return v, j, ok
}

// phrasalVerbAt reports whether words[i] starts a phrasal verb, its particle
// next or after an object ("look up", "look him up"), and returns the verb it
// means and the index of the particle.
func phrasalVerbAt(words []string, i int) (string, int, bool) {
	if i+1 >= len(words) {
		return "", 0, false
	}
	if v, ok := phrasalVerbs[[2]string{words[i], words[i+1]}]; ok {
		return v, i + 1, true
	}
	if i+2 < len(words) && particleObjects[words[i+1]] {
		if v, ok := phrasalVerbs[[2]string{words[i], words[i+2]}]; ok {
			return v, i + 2, true
		}
	}
	return "", 0, false
}
