package search

import (
	"math/bits"
	"sort"
)

// Typo tolerance for query words the index does not know.
const (
	minFuzzyLen = 5  // shorter words are not matched by spelling (post/past/cost)
	maxFuzzyLen = 24 // longer words are not matched by spelling
	maxFuzzyAlt = 4  // at most this many near spellings per word
)

// fuzzyWeight is the weight of a near spelling at edit distance 1 and 2.
var fuzzyWeight = [3]float64{1: 0.6, 2: 0.35}

// fuzzy returns the index terms within a small edit distance of s (one edit
// for words up to 8 letters, two beyond), closest first, then by term.
func (ix *Index) fuzzy(s string) []alt {
	if len(s) < minFuzzyLen || len(s) > maxFuzzyLen || !isASCIILower(s) {
		return nil
	}
	bound := 1
	if len(s) >= 9 {
		bound = 2
	}
	type match struct {
		term int32
		dist int
	}
	var found []match
	var buf osaBuf
	mask := letterMask(s)
	for l := len(s) - bound; l <= len(s)+bound; l++ {
		if l < 1 || l >= len(ix.byLen) {
			continue
		}
		for _, t := range ix.byLen[l] {
			// One edit adds or removes at most two letters from the set of
			// letters a word uses: a cheap test that skips most terms.
			if bits.OnesCount32(mask^ix.termMask[t]) > 2*bound {
				continue
			}
			term := ix.terms[t]
			if len(term) < minFuzzyLen-1 {
				continue
			}
			if d := buf.distance(s, term, bound); d <= bound {
				found = append(found, match{t, d})
			}
		}
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].dist != found[j].dist {
			return found[i].dist < found[j].dist
		}
		return ix.terms[found[i].term] < ix.terms[found[j].term]
	})
	if len(found) > maxFuzzyAlt {
		found = found[:maxFuzzyAlt]
	}
	alts := make([]alt, len(found))
	for i, m := range found {
		alts[i] = alt{m.term, fuzzyWeight[m.dist]}
	}
	return alts
}

// letterMask is the set of letters a-z (and, as one bit, anything else) that
// s uses.
func letterMask(s string) uint32 {
	var m uint32
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' {
			m |= 1 << (c - 'a')
		} else {
			m |= 1 << 26
		}
	}
	return m
}

// osaBuf holds the rows of the optimal string alignment distance.
type osaBuf struct{ prev2, prev, cur []int }

// distance is the optimal string alignment distance (Levenshtein plus
// transposition of adjacent bytes) between a and b, or bound+1 as soon as it
// is known to exceed bound (bound < 0: no bound).
func (o *osaBuf) distance(a, b string, bound int) int {
	if bound >= 0 && abs(len(a)-len(b)) > bound {
		return bound + 1
	}
	n := len(b)
	if cap(o.cur) < n+1 {
		o.prev2, o.prev, o.cur = make([]int, n+1), make([]int, n+1), make([]int, n+1)
	}
	prev2, prev, cur := o.prev2[:n+1], o.prev[:n+1], o.cur[:n+1]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := i
		for j := 1; j <= n; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if bound >= 0 && rowMin > bound {
			return bound + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[n]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
