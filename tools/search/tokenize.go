package search

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// stopwords are dropped from every field and from queries. They are checked on
// the lower-cased word before stemming, so "note" (stem "not") survives while
// "not" does not. Words that carry meaning for actions ("new", "get", "all"
// aside) are deliberately absent.
var stopwords = toSet(`a an the and or but nor to of in on at by for from with into onto
	as is are was were be been being am it its this that these those there
	i me my mine we us our ours you your yours he him his she her they them their
	please pls can could would should will shall may might must do does did
	want wanna need needs how what which who whom whose when where why
	some any all each every via using about also just then than so if not no
	up out have has had let lets etc eg ie`)

// descStopwords are dropped from descriptions only: the boilerplate of
// Pipedream descriptions ("[See the documentation](https://...)").
var descStopwords = toSet(`see documentation docs doc here learn more info information reference link`)

// invariant words are never stemmed: plain suffix rules would damage them.
var invariant = toSet(`alias canvas atlas bias news series species status
	analysis basis axis chaos lens gas always perhaps whereas`)

// irregular maps a few irregular verb forms agents write to the base verb.
var irregular = map[string]string{
	"sent": "send", "found": "find", "made": "make", "wrote": "write",
	"written": "write", "got": "get", "gotten": "get", "bought": "buy",
	"sold": "sell", "began": "begin", "begun": "begin", "ran": "run",
}

func toSet(words string) map[string]bool {
	m := make(map[string]bool)
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// tokenize splits s into lower-case words (on anything that is not a letter or
// digit, and at camelCase boundaries), drops stopwords (plus extra, if not nil)
// and one-character words, and stems the rest. Tokens are appended to dst in
// order, duplicates kept.
func tokenize(dst []string, s string, extra map[string]bool) []string {
	return (*tokenizer)(nil).tokenize(dst, s, extra)
}

// tokenizer is tokenize with memory, for building an index: it remembers the
// stem of every word it has seen ("" for a stopword), so each distinct word
// is stemmed and allocated once, and it reuses its word buffers. A nil
// *tokenizer works, without the memory. It is not safe for concurrent use.
type tokenizer struct {
	stems     map[string]string
	part, run []byte
}

func newTokenizer() *tokenizer {
	return &tokenizer{stems: make(map[string]string)}
}

// tokenize is the package tokenize, through t's memory.
func (t *tokenizer) tokenize(dst []string, s string, extra map[string]bool) []string {
	fn := func(w []byte) {
		if len(w) < 2 || (extra != nil && extra[string(w)]) {
			return
		}
		if t != nil {
			if st, ok := t.stems[string(w)]; ok {
				if st != "" {
					dst = append(dst, st)
				}
				return
			}
		}
		word := string(w)
		st := ""
		if !stopwords[word] {
			st = stem(word)
		}
		if t != nil {
			t.stems[word] = st
		}
		if st != "" {
			dst = append(dst, st)
		}
	}
	if t == nil {
		splitWords(s, fn)
	} else {
		t.part, t.run = splitWordsBuf(s, t.part[:0], t.run[:0], fn)
	}
	return dst
}

// splitWords calls fn with every lower-cased word of s (a buffer valid only
// during the call). A word is a run of
// letters and digits; inside a run, a lower-case letter or digit followed by an
// upper-case letter starts a new word ("sendMessage"), and so does the last
// upper-case letter of an acronym of two letters or more followed by a
// lower-case one ("HTTPRequest", but "OAuth" stays whole). A run split this
// way is also passed whole after its parts ("GitHub": "git", "hub",
// "github"), so brand names match as users write them. Letters and digits are
// not split apart ("oauth2", "v2", "s3").
func splitWords(s string, fn func([]byte)) {
	splitWordsBuf(s, nil, nil, fn)
}

// splitWordsBuf is splitWords with buffers for the word and the run, which it
// returns for reuse.
func splitWordsBuf(s string, part, run []byte, fn func([]byte)) ([]byte, []byte) {
	var prev rune // previous rune of the current run, 0 at a run start
	parts := 0    // parts of the current run already passed to fn
	flushPart := func() {
		if len(part) > 0 {
			fn(part)
			part = part[:0]
			parts++
		}
	}
	endRun := func() {
		flushPart()
		if parts > 1 {
			fn(run)
		}
		run, parts, prev = run[:0], 0, 0
	}
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		if r < utf8.RuneSelf && r >= 'a' && r <= 'z' { // the common case
			prev = r
			part = append(part, byte(r))
			run = append(run, byte(r))
			continue
		}
		if !isWordRune(r) {
			endRun()
			continue
		}
		if isUpper(r) && prev != 0 && upperStartsWord(prev, len(part), s[i:]) {
			flushPart()
		}
		prev = r
		lr := toLower(r)
		part = utf8.AppendRune(part, lr)
		run = utf8.AppendRune(run, lr)
	}
	endRun()
	return part, run
}

// upperStartsWord reports whether an upper-case letter that follows prev in
// a run and is followed by rest starts a new word, the current one having
// partLen bytes: after a lower-case letter or digit ("sendMessage"), or as
// the last upper-case letter of an acronym of two letters or more followed by
// a lower-case one ("HTTPRequest").
func upperStartsWord(prev rune, partLen int, rest string) bool {
	if isLower(prev) || isDigit(prev) {
		return true
	}
	if isUpper(prev) && partLen >= 2 && rest != "" {
		next, _ := utf8.DecodeRuneInString(rest)
		return isLower(next)
	}
	return false
}

// toLower is unicode.ToLower, fast for ASCII.
func toLower(r rune) rune {
	if r < utf8.RuneSelf {
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}
	return unicode.ToLower(r)
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isUpper(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'A' && r <= 'Z'
	}
	return unicode.IsUpper(r)
}

func isLower(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z'
	}
	return unicode.IsLower(r)
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// stem reduces an English word to a conservative stem so that inflections of
// one word meet: plural and third-person "-s", "-es", "-ies" (-> "y"), "-ed",
// "-ied" (-> "y") and "-ing" (undoubling a final consonant: "getting" ->
// "get"), "-tion" -> "-t" ("creation" -> "creat"), and a final silent "e"
// ("create" -> "creat"). So message/messages, issue/issues and
// create/created/creating/creates/creation each share a stem. Words of three
// letters or fewer, words with anything but ASCII letters, and a few invariant
// words are returned unchanged. The rules never look at context, so the
// result is deterministic; they are not a full Porter stemmer on purpose (no
// "-er", "-ly", "-ment" rules, which merge unrelated words like
// customer/custom).
func stem(w string) string {
	if base, ok := irregular[w]; ok {
		w = base
	}
	if len(w) <= 3 || invariant[w] || !isASCIILower(w) {
		return w
	}
	w = stemPlural(w)
	w = stemPast(w)
	// Nouns of action: creation -> creat, deletion -> delet.
	if strings.HasSuffix(w, "tion") && len(w)-3 >= 4 {
		w = w[:len(w)-3]
	}
	// Final silent e: message -> messag, issue -> issu (but not "free").
	if len(w) >= 4 && w[len(w)-1] == 'e' && w[len(w)-2] != 'e' {
		w = w[:len(w)-1]
	}
	return w
}

// stemPlural removes the plural and third-person endings of w: "-sses" ->
// "-ss", "-ies" -> "-y", "-s" (but not "-ss", "-us", "-is").
func stemPlural(w string) string {
	switch {
	case strings.HasSuffix(w, "sses"):
		return w[:len(w)-2]
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") &&
		!strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		return w[:len(w)-1]
	}
	return w
}

// stemPast removes the past-tense and gerund endings of w: "-ied" -> "-y",
// "-ed" (but not "-eed") and "-ing", undoubling a final consonant, when what
// remains has three letters or more and a vowel.
func stemPast(w string) string {
	switch {
	case strings.HasSuffix(w, "ied") && len(w) > 4:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "ed") && !strings.HasSuffix(w, "eed"):
		if s := w[:len(w)-2]; len(s) >= 3 && hasVowel(s) {
			return undouble(s)
		}
	case strings.HasSuffix(w, "ing"):
		if s := w[:len(w)-3]; len(s) >= 3 && hasVowel(s) {
			return undouble(s)
		}
	}
	return w
}

// undouble turns a doubled final consonant into one ("gett" -> "get",
// "mapp" -> "map"), except l, s and z ("call", "pass", "buzz") and when the
// result would be shorter than three letters ("add" stays).
func undouble(s string) string {
	n := len(s)
	if n >= 4 && s[n-1] == s[n-2] && !isVowel(s[n-1]) {
		switch s[n-1] {
		case 'l', 's', 'z':
			return s
		}
		return s[:n-1]
	}
	return s
}

func isVowel(c byte) bool {
	switch c {
	case 'a', 'e', 'i', 'o', 'u', 'y':
		return true
	}
	return false
}

func hasVowel(s string) bool {
	for i := 0; i < len(s); i++ {
		if isVowel(s[i]) {
			return true
		}
	}
	return false
}

func isASCIILower(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}
