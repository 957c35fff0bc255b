package search

import (
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
)

// posting is one document that holds a term, with the term's saturated,
// field-weighted frequency in it: tf/(k1+tf) of BM25F, in [0, 1).
type posting struct {
	doc int32
	sat float32
}

// Index is an immutable search index over a set of Docs. Build one with Build;
// every method is safe for concurrent use, and a nil *Index is an empty one.
type Index struct {
	docs []Doc

	terms     []string         // term id -> stem
	vocab     map[string]int32 // stem -> term id
	postStart []int32          // term id -> first posting; len(terms)+1 entries
	postings  []posting        // grouped by term, ascending doc within a term
	byLen     [][]int32        // word length -> term ids, for typo matching
	termMask  []uint32         // term id -> letterMask, for typo matching

	surface map[string][]int32 // lower-case word of a name, unstemmed -> docs

	nameStart []int32 // doc -> first of its name's terms in nameTerms; len(docs)+1 entries
	nameTerms []int32 // the distinct terms of each doc's name, doc after doc

	docApp  []int32 // doc -> app id
	docVerb []int32 // doc -> term id of the action's verb, or -1
	isVerb  []bool  // term id -> some doc has it as its verb
	toolOrd []int32 // doc -> rank of its Tool in sorted order (tie-breaks)

	apps     []appInfo        // app id -> app, sorted by slug
	appIndex map[string]int32 // slug -> app id
	appStems map[string]bool  // every stem of an app's phrases

	scratch sync.Pool // *scratch sized for len(docs)
}

// appKey identifies the app field of a doc.
type appKey struct{ app, name, aliases string }

// appInfo is what Apps and the app filter know about one app.
type appInfo struct {
	slug    string
	phrases [][]string // stems of the slug, the name and each alias
	docs    []int32    // the app's docs, sorted by tool name
}

// Build indexes docs. A later Doc with the Tool of an earlier one replaces it.
// Building 10,000 docs takes tens of milliseconds; rebuild the whole index
// whenever the catalog changes (see With).
func Build(docs []Doc) *Index {
	docs = dedupe(docs)
	ix := &Index{
		docs:     docs,
		vocab:    make(map[string]int32, len(docs)),
		docApp:   make([]int32, len(docs)),
		docVerb:  make([]int32, len(docs)),
		toolOrd:  make([]int32, len(docs)),
		appIndex: make(map[string]int32),
		appStems: make(map[string]bool),
		surface:  make(map[string][]int32),
	}
	n := len(docs)
	ix.nameStart = make([]int32, n+1)

	// Pass 1: tokenize every field, count term frequencies per doc.
	b := newBuilder(ix)
	for d := range docs {
		b.addDoc(d)
	}
	b.docStart[n] = int32(len(b.entries))

	// Pass 2: postings in CSR layout, with BM25F saturation precomputed.
	ix.buildPostings(b)
	ix.buildTypoTables()
	ix.markVerbs()
	ix.buildOrder()
	nt := len(ix.terms)
	ix.scratch.New = func() any { return newScratch(n, nt) }
	return ix
}

// docTerm is a term of one doc with its frequency in each field.
type docTerm struct {
	term int32
	tf   [numFields]uint16
}

// builder is the state of Build's first pass over the docs.
type builder struct {
	ix       *Index
	entries  []docTerm // all docs' terms, doc after doc
	docStart []int32   // doc -> its first entry; len(docs)+1 entries
	fieldLen [][numFields]uint16
	totalLen [numFields]float64
	slot     []int32 // term -> 1 + position in this doc's entries, 0 if none
	appToks  map[appKey][]string
	toks     []string
	tk       *tokenizer
}

func newBuilder(ix *Index) *builder {
	n := len(ix.docs)
	return &builder{
		ix:       ix,
		entries:  make([]docTerm, 0, 32*n),
		docStart: make([]int32, n+1),
		fieldLen: make([][numFields]uint16, n),
		appToks:  make(map[appKey][]string),
		tk:       newTokenizer(),
	}
}

// termID is the id of term s, added to the vocabulary when new.
func (ix *Index) termID(s string) int32 {
	id, ok := ix.vocab[s]
	if !ok {
		id = int32(len(ix.terms))
		ix.vocab[s] = id
		ix.terms = append(ix.terms, s)
	}
	return id
}

// addDoc tokenizes every field of doc d and counts its terms; it also
// records the doc's name terms, surface words and verb.
func (b *builder) addDoc(d int) {
	ix := b.ix
	doc := &ix.docs[d]
	b.docStart[d] = int32(len(b.entries))
	for f := 0; f < numFields; f++ {
		b.toks = b.fieldTokens(doc, f)
		for i, t := range b.toks {
			id := ix.termID(t)
			if f == fieldName && !slices.Contains(b.toks[:i], t) {
				ix.nameTerms = append(ix.nameTerms, id)
			}
			b.count(id, f)
		}
		l := min(len(b.toks), math.MaxUint16)
		b.fieldLen[d][f] = uint16(l)
		b.totalLen[f] += float64(l)
	}
	for _, e := range b.entries[b.docStart[d]:] {
		b.slot[e.term] = 0
	}
	ix.nameStart[d+1] = int32(len(ix.nameTerms))
	ix.addSurface(d, doc.Name)
	ix.docVerb[d] = -1
	if v := actionVerb(b.tk, doc); v != "" {
		ix.docVerb[d] = ix.termID(v)
	}
}

// fieldTokens returns the stems of field f of doc, in b.toks's memory.
func (b *builder) fieldTokens(doc *Doc, f int) []string {
	if f != fieldApp {
		return fieldTokens(b.tk, b.toks[:0], doc, f)
	}
	// Every doc of an app has the same app field.
	k := appKey{doc.App, doc.AppName, ""}
	if len(doc.AppAliases) > 0 {
		k.aliases = strings.Join(doc.AppAliases, "\x00")
	}
	t, ok := b.appToks[k]
	if !ok {
		t = fieldTokens(b.tk, nil, doc, f)
		b.appToks[k] = t
	}
	return append(b.toks[:0], t...)
}

// count counts one occurrence of term id in field f of the current doc.
func (b *builder) count(id int32, f int) {
	for int(id) >= len(b.slot) {
		b.slot = append(b.slot, 0)
	}
	i := b.slot[id] - 1
	if i < 0 {
		i = int32(len(b.entries))
		b.slot[id] = i + 1
		b.entries = append(b.entries, docTerm{term: id})
	}
	if b.entries[i].tf[f] < math.MaxUint16 {
		b.entries[i].tf[f]++
	}
}

// buildPostings lays out the postings of b's entries, term after term, with
// each one's BM25F saturation.
func (ix *Index) buildPostings(b *builder) {
	n := len(ix.docs)
	avgLen := averageLengths(&b.totalLen, n)
	df := make([]int32, len(ix.terms))
	for _, e := range b.entries {
		df[e.term]++
	}
	ix.postStart = make([]int32, len(ix.terms)+1)
	for t, c := range df {
		ix.postStart[t+1] = ix.postStart[t] + c
	}
	ix.postings = make([]posting, len(b.entries))
	fill := make([]int32, len(ix.terms))
	copy(fill, ix.postStart[:len(ix.terms)])
	for d := 0; d < n; d++ {
		var norm [numFields]float64
		for f := range norm {
			norm[f] = fieldWeight[f] / (1 - fieldB[f] + fieldB[f]*float64(b.fieldLen[d][f])/avgLen[f])
		}
		for _, e := range b.entries[b.docStart[d]:b.docStart[d+1]] {
			ix.postings[fill[e.term]] = posting{doc: int32(d), sat: saturation(&e, &norm)}
			fill[e.term]++
		}
	}
}

// averageLengths is the average length of each field over n docs, from
// their total; 1 when there is none.
func averageLengths(totalLen *[numFields]float64, n int) [numFields]float64 {
	var avgLen [numFields]float64
	for f := range avgLen {
		avgLen[f] = 1
		if n > 0 && totalLen[f] > 0 {
			avgLen[f] = totalLen[f] / float64(n)
		}
	}
	return avgLen
}

// saturation is BM25F's tf/(k1+tf) for e, its field frequencies weighted by
// norm.
func saturation(e *docTerm, norm *[numFields]float64) float32 {
	var tf float64
	for f, c := range e.tf {
		if c > 0 {
			tf += float64(c) * norm[f]
		}
	}
	return float32(tf / (bm25K1 + tf))
}

// buildTypoTables fills termMask and byLen, for typo matching.
func (ix *Index) buildTypoTables() {
	ix.termMask = make([]uint32, len(ix.terms))
	for t, s := range ix.terms {
		ix.termMask[t] = letterMask(s)
		l := min(len(s), maxFuzzyLen+2)
		for len(ix.byLen) <= l {
			ix.byLen = append(ix.byLen, nil)
		}
		ix.byLen[l] = append(ix.byLen[l], int32(t))
	}
}

// markVerbs fills isVerb from docVerb.
func (ix *Index) markVerbs() {
	ix.isVerb = make([]bool, len(ix.terms))
	for _, v := range ix.docVerb {
		if v >= 0 {
			ix.isVerb[v] = true
		}
	}
}

// With returns a new Index over the docs of ix and more, a doc of more
// replacing one of ix with the same Tool. ix itself is unchanged.
func (ix *Index) With(more []Doc) *Index {
	if ix == nil {
		return Build(more)
	}
	all := make([]Doc, 0, len(ix.docs)+len(more))
	all = append(all, ix.docs...)
	return Build(append(all, more...))
}

// idf is BM25's inverse document frequency for a word in df docs, floored
// so that a word in most docs still counts a little.
func (ix *Index) idf(df int) float64 {
	n := float64(len(ix.docs))
	return math.Max(0.05, math.Log(1+(n-float64(df)+0.5)/(float64(df)+0.5)))
}

// Len is the number of docs in the index (0 for a nil Index).
func (ix *Index) Len() int {
	if ix == nil {
		return 0
	}
	return len(ix.docs)
}

// Docs returns a copy of the indexed docs, in build order.
func (ix *Index) Docs() []Doc {
	if ix == nil {
		return nil
	}
	return append([]Doc(nil), ix.docs...)
}

// dedupe copies docs, keeping the position of a tool's first doc and the
// content of its last.
func dedupe(docs []Doc) []Doc {
	out := make([]Doc, 0, len(docs))
	seen := make(map[string]int, len(docs))
	for _, d := range docs {
		if i, ok := seen[d.Tool]; ok {
			out[i] = d
			continue
		}
		seen[d.Tool] = len(out)
		out = append(out, d)
	}
	return out
}

// buildOrder fills toolOrd, the apps and docApp.
func (ix *Index) buildOrder() {
	order := ix.sortByTool()
	ix.listApps()
	seenPhrase := make([]map[string]bool, len(ix.apps))
	for _, d := range order { // tool order, so each app's docs are sorted
		doc := &ix.docs[d]
		a := ix.appIndex[doc.App]
		ix.docApp[d] = a
		app := &ix.apps[a]
		app.docs = append(app.docs, d)
		if seenPhrase[a] == nil {
			seenPhrase[a] = make(map[string]bool)
		}
		for i := -2; i < len(doc.AppAliases); i++ {
			ix.addAppPhrases(app, seenPhrase[a], appText(doc, i))
		}
	}
}

// sortByTool fills toolOrd and returns the doc ids in tool order.
func (ix *Index) sortByTool() []int32 {
	order := make([]int32, len(ix.docs))
	for i := range order {
		order[i] = int32(i)
	}
	sort.Slice(order, func(a, b int) bool { return ix.docs[order[a]].Tool < ix.docs[order[b]].Tool })
	for rank, d := range order {
		ix.toolOrd[d] = int32(rank)
	}
	return order
}

// listApps fills apps (each with its slug only) and appIndex, by slug.
func (ix *Index) listApps() {
	slugs := make([]string, 0)
	for _, d := range ix.docs {
		if _, ok := ix.appIndex[d.App]; !ok {
			ix.appIndex[d.App] = 0
			slugs = append(slugs, d.App)
		}
	}
	sort.Strings(slugs)
	ix.apps = make([]appInfo, len(slugs))
	for i, s := range slugs {
		ix.appIndex[s] = int32(i)
		ix.apps[i].slug = s
	}
}

// appText is a text that names doc's app: its slug (i == -2), its name (i ==
// -1) or alias i.
func appText(doc *Doc, i int) string {
	switch {
	case i == -1:
		return doc.AppName
	case i >= 0:
		return doc.AppAliases[i]
	}
	return doc.App
}

// addAppPhrases adds to app the phrases of p, a text that names it: its
// stems and, for several words, the words run together. seen holds the texts
// ("\x00" + text) and phrases (stems joined by " ") app has already.
func (ix *Index) addAppPhrases(app *appInfo, seen map[string]bool, p string) {
	if seen["\x00"+p] { // same text as a doc before
		return
	}
	seen["\x00"+p] = true
	toks := tokenize(nil, p, nil)
	if len(toks) == 0 {
		return
	}
	phrases := [][]string{toks}
	if all := appTokens(nil, nil, p); len(all) > len(toks) {
		phrases = append(phrases, all[len(toks):]) // the words run together
	}
	for _, ph := range phrases {
		k := strings.Join(ph, " ")
		if !seen[k] {
			seen[k] = true
			app.phrases = append(app.phrases, ph)
			for _, t := range ph {
				ix.appStems[t] = true
			}
		}
	}
}
