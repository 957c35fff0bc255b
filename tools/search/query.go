package search

import (
	"sort"
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
// spellings) that the index holds. Stems matching nothing are dropped.
func (ix *Index) concepts(text string) []concept {
	stems := tokenize(nil, text, nil)
	out := make([]concept, 0, len(stems))
	seen := make(map[string]bool, len(stems))
	verbTaken := false
	for _, s := range stems {
		if seen[s] || len(out) == maxConcepts {
			continue
		}
		seen[s] = true
		c := concept{exact: -1}
		if id, ok := ix.vocab[s]; ok {
			c.exact = id
			c.alts = append(c.alts, alt{id, 1})
		}
		isVerb := verbStems[s] || (c.exact >= 0 && ix.isVerb[c.exact])
		for _, syn := range synonyms[s] {
			id, ok := ix.vocab[syn.stem]
			if !ok {
				continue
			}
			c.alts = append(c.alts, alt{id, syn.weight})
			if syn.verb {
				c.verbSyns = append(c.verbSyns, alt{id, syn.weight})
			}
		}
		if c.exact < 0 {
			for _, f := range ix.fuzzy(s) {
				c.alts = appendAlt(c.alts, f)
			}
		}
		if len(c.alts) == 0 {
			continue
		}
		sort.SliceStable(c.alts, func(i, j int) bool { return c.alts[i].weight > c.alts[j].weight })
		if isVerb && !verbTaken && (c.exact >= 0 || len(c.verbSyns) > 0) {
			c.verb = true
			verbTaken = true
		}
		out = append(out, c)
	}
	return out
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
