package search

import (
	"slices"
	"sort"
	"strings"
)

// alt is one way a query word can match: a term of the index and the weight
// of a match on it.
type alt struct {
	term   int32
	weight float64
}

// concept is one distinct word of a query with everything it may match.
type concept struct {
	alts       []alt   // by weight: the word itself (1), synonyms, near spellings
	importance float64 // the most a match on it can be worth (set by rank)
	exact      int32   // term id of the word itself, or -1
	verb       bool    // the word plays the query's verb
	verbSyns   []alt   // verb synonyms, when verb
}

// isQuestion reports whether text starts with a question word.
func isQuestion(text string) bool {
	first := true
	question := false
	splitWords(text, func(w []byte) {
		if first {
			question = questionWords[string(w)]
			first = false
		}
	})
	return question
}

// readVerb is the implicit verb of a question: any read verb, as a synonym.
func (ix *Index) readVerb() *concept {
	c := &concept{exact: -1, verb: true}
	for _, v := range readVerbs {
		if id, ok := ix.vocab[v]; ok {
			c.verbSyns = append(c.verbSyns, alt{id, weightLoose})
		}
	}
	return c
}

// mentionedApps marks the apps whose slug, name or an alias the query holds
// in full (each word itself, a close synonym or a near spelling); nil when it
// names none.
func (ix *Index) mentionedApps(concepts []concept) []bool {
	words := appWords(ix, concepts)
	if len(words) == 0 {
		return nil
	}
	var out []bool
	for a := range ix.apps {
		for _, p := range ix.apps[a].phrases {
			all := true
			for _, t := range p {
				all = all && words[t]
			}
			if all {
				if out == nil {
					out = make([]bool, len(ix.apps))
				}
				out[a] = true
				break
			}
		}
	}
	return out
}

// appWords are the terms the concepts may stand for when they name an app.
func appWords(ix *Index, concepts []concept) map[string]bool {
	var words map[string]bool
	for _, c := range concepts {
		for _, a := range c.alts {
			if a.weight >= fuzzyWeight[1] { // the word, a close synonym or one typo
				if words == nil {
					words = make(map[string]bool)
				}
				words[ix.terms[a.term]] = true
			}
		}
	}
	return words
}

// concepts turns query text into scored concepts: its distinct stems, each
// with its synonyms (and, for a stem the index does not know, its near
// spellings) that the index holds. Stems matching nothing are dropped. The
// query's verb is its first word that is a verb: a word of a verb group or
// an action's verb anywhere, and a lead verb (leadVerbs) as the request's
// first word other than an app's name; in a question about things ("who
// attended ..."), not a verb in the past.
func (ix *Index) concepts(text string) []concept {
	words := ix.queryWords(text)
	out := make([]concept, 0, len(words))
	seen := make(map[string]bool, len(words))
	verbTaken := false
	leadSeen := false
	whQuestion := len(words) > 0 && whWords[words[0]]
	var buf [4]string
	for _, w := range words {
		for _, s := range tokenize(buf[:0], w, nil) {
			lead := false
			if !leadSeen && !ix.appStems[s] {
				lead, leadSeen = true, true
			}
			if seen[s] || len(out) == maxConcepts {
				continue
			}
			seen[s] = true
			c, isVerb := ix.wordConcept(w, s, lead, whQuestion)
			if len(c.alts) == 0 {
				continue
			}
			if isVerb && !verbTaken && c.canBeVerb() {
				c.verb = true
				verbTaken = true
			}
			out = append(out, c)
		}
	}
	return dropVerbEchoes(out)
}

// wordConcept is the concept of stem s of query word w; lead says that w is
// the request's first word, whQuestion that the query is a question about
// things. isVerb reports whether it may play the query's verb.
func (ix *Index) wordConcept(w, s string, lead, whQuestion bool) (c concept, isVerb bool) {
	lv, isLeadVerb := leadVerbSyns[w]
	c, isVerb = ix.concept(s, lv, lead && isLeadVerb)
	if whQuestion && pastTense(w) {
		isVerb = false // "what meetings have people booked"
	}
	return c, isVerb
}

// canBeVerb reports whether c can earn the verb bonus: it is a word of the
// index or has verb synonyms.
func (c *concept) canBeVerb() bool {
	return c.exact >= 0 || len(c.verbSyns) > 0
}

// pastTense reports whether a word as written is a verb's past form:
// "-ed" or an irregular form ("sent").
func pastTense(w string) bool {
	if _, ok := irregular[w]; ok {
		return true
	}
	return len(w) > 4 && strings.HasSuffix(w, "ed") && !strings.HasSuffix(w, "eed")
}

// dropVerbEchoes drops the words that only repeat the query's verb: "new" in
// "create a new page" or "add a new row" adds nothing to the verb, and would
// count its matches twice.
func dropVerbEchoes(cs []concept) []concept {
	vi := slices.IndexFunc(cs, func(c concept) bool { return c.verb })
	if vi < 0 {
		return cs
	}
	out := cs[:0]
	for i, c := range cs {
		if i != vi && c.exact >= 0 && echoes(&cs[vi], c.exact) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// echoes reports whether term is the verb concept v's word or a near
// synonym of it.
func echoes(v *concept, term int32) bool {
	for _, a := range v.alts {
		if a.term == term && a.weight >= weightMid {
			return true
		}
	}
	return false
}

// concept is the concept of stem s; isLeadVerb says that it is the request's
// first word and a lead verb, lv. isVerb reports whether it may play the
// query's verb.
func (ix *Index) concept(s string, lv leadVerb, isLeadVerb bool) (c concept, isVerb bool) {
	c.exact = -1
	noun := !isLeadVerb || lv.keepNoun
	if id, ok := ix.vocab[s]; ok && noun {
		c.exact = id
		c.alts = append(c.alts, alt{id, 1})
	}
	isVerb = verbStems[s] || isLeadVerb ||
		(c.exact >= 0 && ix.isVerb[c.exact] && !ix.appStems[s])
	if noun {
		ix.addSynonyms(&c, s, isLeadVerb)
	}
	if isLeadVerb {
		ix.addLeadVerb(&c, s, lv)
	}
	if c.exact < 0 && noun {
		ix.addNearSpellings(&c, s)
	}
	sort.SliceStable(c.alts, func(i, j int) bool { return c.alts[i].weight > c.alts[j].weight })
	return c, isVerb
}

// addSynonyms adds to c the synonyms of stem s that the index holds, and
// those that are verbs to its verb synonyms when s is a verb (isLeadVerb: it
// is the request's lead verb).
func (ix *Index) addSynonyms(c *concept, s string, isLeadVerb bool) {
	for _, syn := range synonyms[s] {
		id, ok := ix.vocab[syn.stem]
		if !ok {
			continue
		}
		c.alts = appendAlt(c.alts, alt{id, syn.weight})
		if syn.verb && (isLeadVerb || verbStems[s]) {
			c.verbSyns = append(c.verbSyns, alt{id, syn.weight})
		}
	}
}

// addLeadVerb adds to c, the concept of stem s, a lead verb, the verbs lv
// stands for, as loose alternatives and verb synonyms; an action's verb s is
// c's own.
func (ix *Index) addLeadVerb(c *concept, s string, lv leadVerb) {
	for _, v := range lv.to {
		if id, ok := ix.vocab[v]; ok {
			c.alts = appendAlt(c.alts, alt{id, weightLoose})
			c.verbSyns = appendAlt(c.verbSyns, alt{id, weightLoose})
		}
	}
	if id, ok := ix.vocab[s]; ok && ix.isVerb[id] {
		c.exact = id // an action's verb: the verb bonus is its own
	}
}

// addNearSpellings adds to c the near spellings of stem s that the index
// holds, when the index does not know s itself.
func (ix *Index) addNearSpellings(c *concept, s string) {
	if _, known := ix.vocab[s]; !known {
		for _, f := range ix.fuzzy(s) {
			c.alts = appendAlt(c.alts, f)
		}
	}
}

// appendAlt adds a to alts unless its term is there already.
func appendAlt(alts []alt, a alt) []alt {
	for _, x := range alts {
		if x.term == a.term {
			return alts
		}
	}
	return append(alts, a)
}
