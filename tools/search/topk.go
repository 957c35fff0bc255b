package search

import (
	"container/heap"
	"sort"
)

// scratch is the per-search working memory, pooled per Index.
type scratch struct {
	total, cov, cur, curW []float64
	mask                  []uint64
	surf                  []uint8
	touched, ctouched     []int32
	termW                 []float32 // term -> the weight a query word gives it
	wterms                []int32   // terms with a termW set
}

func newScratch(n, terms int) *scratch {
	return &scratch{
		total: make([]float64, n), cov: make([]float64, n),
		cur: make([]float64, n), curW: make([]float64, n),
		mask: make([]uint64, n), surf: make([]uint8, n),
		termW: make([]float32, terms),
	}
}

// reset clears what the previous search touched (all of it, even when that
// search was interrupted by a panicking filter).
func (s *scratch) reset() {
	for _, d := range s.ctouched {
		s.cur[d], s.curW[d] = 0, 0
	}
	for _, d := range s.touched {
		s.total[d], s.cov[d], s.mask[d], s.surf[d] = 0, 0, 0, 0
	}
	for _, t := range s.wterms {
		s.termW[t] = 0
	}
	s.touched = s.touched[:0]
	s.ctouched = s.ctouched[:0]
	s.wterms = s.wterms[:0]
}

// cand is a scored doc.
type cand struct {
	doc   int32
	score float64
}

// hitHeap keeps the best candidates; its root is the worst kept.
type hitHeap struct {
	ix    *Index
	items []cand
}

// better reports whether a ranks before b: higher score, then tool name.
func (h *hitHeap) better(a, b cand) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return h.ix.toolOrd[a.doc] < h.ix.toolOrd[b.doc]
}

func (h *hitHeap) Len() int { return len(h.items) }

func (h *hitHeap) Less(i, j int) bool { return h.better(h.items[j], h.items[i]) }

func (h *hitHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }

func (h *hitHeap) Push(x any) { h.items = append(h.items, x.(cand)) }

func (h *hitHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

// offer keeps c if it is among the limit best so far (limit < 0: keep all).
func (h *hitHeap) offer(c cand, limit int) {
	if limit < 0 {
		h.items = append(h.items, c)
		return
	}
	if len(h.items) < limit {
		heap.Push(h, c)
		return
	}
	if limit > 0 && h.better(c, h.items[0]) {
		h.items[0] = c
		heap.Fix(h, 0)
	}
}

// sorted returns the kept candidates, best first.
func (h *hitHeap) sorted() []cand {
	sort.Slice(h.items, func(i, j int) bool { return h.better(h.items[i], h.items[j]) })
	return h.items
}
