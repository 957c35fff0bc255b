package search

import (
	"sort"
	"strings"
)

// Weights of the two similarities Closest and ClosestNames combine, and the
// least combined similarity a suggestion needs.
const (
	editShare     = 0.55
	tokenShare    = 0.45
	minSuggestSim = 0.3
	// maxNameLen caps the wrong name compared (tool names have at most 64
	// characters), so a huge argument cannot make suggestions slow.
	maxNameLen = 128
)

// normName makes tool names comparable: lower case, with "-", "." and spaces
// read as "_".
func normName(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxNameLen {
		s = s[:maxNameLen]
	}
	s = strings.ToLower(s)
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', ' ', '.':
			return '_'
		}
		return r
	}, s)
}

// nameSim is the edit similarity of two normalized names, as written or with
// their "_"-separated words sorted (so "issue_create" is near
// "create_issue"), whichever is higher.
func nameSim(buf *osaBuf, target, sortedTarget, name string) float64 {
	sim := editSim(buf.distance(target, name, -1), len(target), len(name))
	sortedName := sortWords(name)
	return max(sim, editSim(buf.distance(sortedTarget, sortedName, -1), len(sortedTarget), len(sortedName)))
}

// sortWords sorts the "_"-separated words of a normalized name.
func sortWords(s string) string {
	words := strings.Split(s, "_")
	sort.Strings(words)
	return strings.Join(words, "_")
}

// editSim is 1 minus the edit distance of a and b over the longer length.
func editSim(dist, la, lb int) float64 {
	m := max(la, lb)
	if m == 0 {
		return 1
	}
	return 1 - float64(dist)/float64(m)
}

// Closest returns up to n tool names of the index nearest to name, a tool
// name that does not exist, best first. It combines the edit distance between
// the names (typos, "-" for "_", a missing prefix) with a search for the words
// of name (a different word order, a synonym). Only docs allow accepts (all
// when nil) are considered; names that are not similar at all are left out,
// so the result may be shorter than n or empty. Ties are broken by name.
func (ix *Index) Closest(name string, n int, allow func(*Doc) bool) []string {
	if ix == nil {
		return nil
	}
	if n <= 0 || len(ix.docs) == 0 {
		return nil
	}
	if len(name) > maxNameLen {
		name = name[:maxNameLen]
	}
	tokSim := ix.wordSims(name, allow)
	target := normName(name)
	sortedTarget := sortWords(target)
	top := &hitHeap{ix: ix}
	var buf osaBuf
	for _, c := range ix.suggestCands(target, tokSim, allow) {
		if c.bound < minSuggestSim || (len(top.items) == n && c.bound < top.items[0].score) {
			break
		}
		sim := editShare*nameSim(&buf, target, sortedTarget, normName(ix.docs[c.doc].Tool)) + tokenShare*tokSim[c.doc]
		if sim >= minSuggestSim {
			top.offer(cand{doc: c.doc, score: sim}, n)
		}
	}
	var out []string
	for _, c := range top.sorted() {
		out = append(out, ix.docs[c.doc].Tool)
	}
	return out
}

// wordSims is the word similarity of name to the docs allow accepts (all
// when nil), by doc: the search score for name's words on an absolute scale,
// where a strong match on every word (a name match saturates at about 0.8 of
// BM25's ceiling) is 1.
func (ix *Index) wordSims(name string, allow func(*Doc) bool) map[int32]float64 {
	tokSim := make(map[int32]float64)
	if ranked, ceiling := ix.rank(Query{Text: name, Filter: allow}, -1); ceiling > 0 {
		for _, c := range ranked {
			tokSim[c.doc] = min(1, c.score/(0.8*ceiling))
		}
	}
	return tokSim
}

// suggestCand is a doc Closest may suggest, with an upper bound of its
// similarity.
type suggestCand struct {
	doc   int32
	bound float64
}

// suggestCands are the docs allow accepts (all when nil), with an upper
// bound of their similarity to target from the length difference of the
// names alone and their word similarity tokSim, by decreasing bound, then
// tool name.
func (ix *Index) suggestCands(target string, tokSim map[int32]float64, allow func(*Doc) bool) []suggestCand {
	cands := make([]suggestCand, 0, len(ix.docs))
	for d := range ix.docs {
		if allow != nil && !allow(&ix.docs[d]) {
			continue
		}
		tool := ix.docs[d].Tool
		ub := editShare*editSim(abs(len(tool)-len(target)), len(tool), len(target)) + tokenShare*tokSim[int32(d)]
		cands = append(cands, suggestCand{int32(d), ub})
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].bound != cands[j].bound {
			return cands[i].bound > cands[j].bound
		}
		return ix.toolOrd[cands[i].doc] < ix.toolOrd[cands[j].doc]
	})
	return cands
}

// ClosestNames returns up to n of names nearest to name, best first, by edit
// distance and shared words (stemmed, so "create_issues" is near
// "create_issue"); names that are not similar at all are left out. Ties are
// broken by name. It is for plain lists of tool names, as in direct mode.
func ClosestNames(name string, names []string, n int) []string {
	if n <= 0 {
		return nil
	}
	if len(name) > maxNameLen {
		name = name[:maxNameLen]
	}
	target := normName(name)
	sortedTarget := sortWords(target)
	want := wordSet(name)
	type scored struct {
		name string
		sim  float64
	}
	var buf osaBuf
	var all []scored
	seen := make(map[string]bool, len(names))
	for _, cand := range names {
		if seen[cand] {
			continue
		}
		seen[cand] = true
		sim := editShare*nameSim(&buf, target, sortedTarget, normName(cand)) +
			tokenShare*jaccard(want, wordSet(cand))
		if sim >= minSuggestSim {
			all = append(all, scored{cand, sim})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].sim != all[j].sim {
			return all[i].sim > all[j].sim
		}
		return all[i].name < all[j].name
	})
	out := make([]string, 0, min(n, len(all)))
	for _, s := range all[:min(n, len(all))] {
		out = append(out, s.name)
	}
	return out
}

// wordSet is the set of stems of s.
func wordSet(s string) map[string]bool {
	m := make(map[string]bool)
	for _, t := range tokenize(nil, s, nil) {
		m[t] = true
	}
	return m
}

// jaccard is |a ∩ b| / |a ∪ b|, 0 for two empty sets.
func jaccard(a, b map[string]bool) float64 {
	inter := 0
	for t := range a {
		if b[t] {
			inter++
		}
	}
	union := len(a) + len(b) - inter
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}
