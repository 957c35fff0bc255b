package search

import "slices"

// DefaultLimit is the number of hits Search returns when Query.Limit is not
// positive.
const DefaultLimit = 8

// maxConcepts caps the distinct words of a query that are scored, and
// maxQueryLen the bytes of query text read.
const (
	maxConcepts = 32
	maxQueryLen = 2000
)

// Ranking factors applied on top of BM25F.
const (
	// coverageFloor is the share of its score a doc keeps when it matches
	// none of the query's weight; matching all of it keeps everything.
	coverageFloor = 0.35
	// allCoveredBonus multiplies the score of a doc that matches every word
	// of a query of two words or more (directly or through a synonym).
	allCoveredBonus = 1.15
	// verbBonus multiplies the score of a doc whose verb is the query's
	// verb; a synonym of the verb earns its synonym weight of it.
	verbBonus = 0.3
	// otherAppFactor multiplies the score of a doc whose app is not one the
	// query names, when it names one.
	otherAppFactor = 0.6
	// surfaceBonus is the bonus of a doc whose name holds the query words it
	// shares with the query exactly as written (not only their stems): "row"
	// prefers "Add Single Row" to "Add Multiple Rows", "owners" prefers "List
	// Owners" to "Get Owner". It grows with the share of such words.
	surfaceBonus = 0.1
	// nameBonus is the bonus of a doc whose name the query explains in full:
	// every word of the action's name is a query word or one of their
	// synonyms ("add a card" explains "Create Card", only half of "Add
	// Comment"). It grows with the weighted share of such name words.
	nameBonus = 0.3
	// primaryShare: a concept's alternatives weighing at least this share of
	// its strongest set its idf.
	primaryShare = 0.8
)

// Query is one search.
type Query struct {
	// Text is what the agent wrote: words in any order, app names included
	// (only its first 2,000 bytes are read).
	Text string
	// App, when set, keeps only the docs of this app slug.
	App string
	// Limit is the most hits to return; DefaultLimit when not positive.
	Limit int
	// Filter, when set, keeps only the docs it returns true for. It runs
	// before the limit is applied, on scored candidates only; it must not
	// modify the Doc.
	Filter func(*Doc) bool
}

// Hit is one search result.
type Hit struct {
	Doc
	// Score is the doc's relevance: higher is better; only the order is
	// meaningful.
	Score float64
}

// Search returns the docs that best match q, best first, at most q.Limit
// (DefaultLimit when not positive). A doc must match at least one query word
// (or a synonym or near spelling of one) to be returned. A query without any
// indexable word (empty or only stopwords) and with q.App set lists that
// app's docs by tool name; without q.App it returns nothing.
func (ix *Index) Search(q Query) []Hit {
	if ix == nil {
		return nil
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	cands, _ := ix.rank(q, limit)
	if len(cands) == 0 {
		return nil
	}
	hits := make([]Hit, len(cands))
	for i, c := range cands {
		hits[i] = Hit{Doc: ix.docs[c.doc], Score: c.score}
	}
	return hits
}

// rank scores the docs for q, best first; limit < 0 means every match. It
// also returns the score a doc would get if it matched every query word as
// strongly as BM25 allows (0 without words): an absolute scale for scores.
func (ix *Index) rank(q Query, limit int) (ranked []cand, ceiling float64) {
	if len(q.Text) > maxQueryLen {
		q.Text = q.Text[:maxQueryLen]
	}
	appID := int32(-1)
	if q.App != "" {
		id, ok := ix.appIndex[q.App]
		if !ok {
			return nil, 0
		}
		appID = id
	}
	concepts := ix.concepts(q.Text)
	if len(concepts) == 0 {
		if appID < 0 {
			return nil, 0
		}
		return ix.browse(appID, q.Filter, limit), 0
	}

	sc := ix.scratch.Get().(*scratch)
	defer ix.scratch.Put(sc)
	sc.reset()

	s := scorer{ix: ix, sc: sc, concepts: concepts}
	s.totalImportance = ix.scoreConcepts(sc, concepts, appID)
	ix.countSurface(sc, q.Text)
	// Apps the query names: the docs of other apps are worth less.
	if appID < 0 {
		s.mentioned = ix.mentionedApps(concepts)
	}
	s.verb = ix.queryVerb(concepts, q.Text)
	ix.weighTerms(sc, concepts, s.mentioned, s.verb)
	s.allBits = uint64(1)<<uint(len(concepts)) - 1
	s.maxLate = maxLateFactor(s.verb != nil)
	ceiling = s.ceiling()
	return s.top(q.Filter, limit), ceiling
}

// scoreConcepts adds the score of every concept to the docs it matches (of
// app appID only, when not negative) and returns the concepts' total
// importance, setting each one's.
//
// Each concept scores a doc by its best alternative: the alternative's
// weight times its BM25F saturation, times the concept's idf. The idf is
// that of the concept's primary alternatives (the word itself, else its
// strongest matches; the union of their docs), shared by all its
// alternatives: a synonym does not count more for being a rarer word.
func (ix *Index) scoreConcepts(sc *scratch, concepts []concept, appID int32) float64 {
	var totalImportance float64
	for ci := range concepts {
		c := &concepts[ci]
		idf := ix.idf(ix.matchConcept(sc, c))
		c.importance = idf * c.alts[0].weight
		totalImportance += c.importance
		ix.addConcept(sc, idf, uint64(1)<<uint(ci), appID)
	}
	return totalImportance
}

// matchConcept collects in sc.ctouched the docs that match c, with the best
// score (sc.cur) and weight (sc.curW) of an alternative of c in each, and
// returns the number of docs its primary alternatives match.
func (ix *Index) matchConcept(sc *scratch, c *concept) (primaryDF int) {
	primaryDF = -1
	for _, a := range c.alts {
		if primaryDF < 0 && a.weight < primaryShare*c.alts[0].weight {
			primaryDF = len(sc.ctouched)
		}
		for _, p := range ix.postings[ix.postStart[a.term]:ix.postStart[a.term+1]] {
			d := p.doc
			if sc.curW[d] == 0 {
				sc.ctouched = append(sc.ctouched, d)
			}
			if v := a.weight * float64(p.sat); v > sc.cur[d] {
				sc.cur[d] = v
			}
			if a.weight > sc.curW[d] {
				sc.curW[d] = a.weight
			}
		}
	}
	if primaryDF < 0 {
		primaryDF = len(sc.ctouched)
	}
	return primaryDF
}

// addConcept adds the concept matchConcept collected, of inverse document
// frequency idf and mask bit, to the totals of its docs (those of app appID
// only, when not negative), and clears what it collected.
func (ix *Index) addConcept(sc *scratch, idf float64, bit uint64, appID int32) {
	for _, d := range sc.ctouched {
		if appID < 0 || ix.docApp[d] == appID {
			if sc.mask[d] == 0 {
				sc.touched = append(sc.touched, d)
			}
			sc.total[d] += idf * sc.cur[d]
			sc.cov[d] += idf * sc.curW[d]
			sc.mask[d] |= bit
		}
		sc.cur[d], sc.curW[d] = 0, 0
	}
	sc.ctouched = sc.ctouched[:0]
}

// countSurface counts in sc.surf, for each doc scored so far, the words of
// the query as written (not stemmed) that the doc's name holds as written.
func (ix *Index) countSurface(sc *scratch, text string) {
	seenSurface := make(map[string]bool)
	splitWords(text, func(w []byte) {
		if len(w) < 2 || stopwords[string(w)] || seenSurface[string(w)] {
			return
		}
		seenSurface[string(w)] = true
		for _, d := range ix.surface[string(w)] {
			if sc.mask[d] != 0 && sc.surf[d] < 255 {
				sc.surf[d]++
			}
		}
	})
}

// queryVerb is the concept that plays the query's verb: the one marked so,
// else, for a question, the implicit read verb; nil when none.
func (ix *Index) queryVerb(concepts []concept, text string) *concept {
	for ci := range concepts {
		if concepts[ci].verb {
			return &concepts[ci]
		}
	}
	if isQuestion(text) {
		return ix.readVerb()
	}
	return nil
}

// weighTerms records in sc.termW what each term of the index is worth to the
// query, for nameBonus: the weight of the best alternative of a concept
// (other than a word of the name of an app the query names) or of a synonym
// of the verb that is that term.
func (ix *Index) weighTerms(sc *scratch, concepts []concept, mentioned []bool, verb *concept) {
	for ci := range concepts {
		if !ix.namesMentionedApp(&concepts[ci], mentioned) {
			sc.weigh(concepts[ci].alts)
		}
	}
	if verb != nil {
		sc.weigh(verb.verbSyns)
	}
}

// weigh raises the term weights of sc to those of alts.
func (sc *scratch) weigh(alts []alt) {
	for _, a := range alts {
		if w := float32(a.weight); w > sc.termW[a.term] {
			if sc.termW[a.term] == 0 {
				sc.wterms = append(sc.wterms, a.term)
			}
			sc.termW[a.term] = w
		}
	}
}

// maxLateFactor is the most the bonuses scorer.late applies can multiply a
// score by: a doc whose score times this cannot beat the worst of a full
// heap is skipped.
func maxLateFactor(hasVerb bool) float64 {
	maxLate := (1 + nameBonus) * (1 + surfaceBonus)
	if hasVerb {
		maxLate *= 1 + verbBonus
	}
	return maxLate
}

// scorer turns the per-doc sums of scoreConcepts into the final scores of a
// query.
type scorer struct {
	ix              *Index
	sc              *scratch
	concepts        []concept
	totalImportance float64
	allBits         uint64   // the mask of a doc that matches every concept
	mentioned       []bool   // app id -> the query names it; nil when none
	verb            *concept // the query's verb, or nil
	maxLate         float64  // maxLateFactor
}

// ceiling is the score of a doc that matches every concept as strongly as
// BM25 allows, with every bonus.
func (s *scorer) ceiling() float64 {
	ceiling := s.totalImportance
	if len(s.concepts) > 1 {
		ceiling *= allCoveredBonus
	}
	if s.verb != nil {
		ceiling *= 1 + verbBonus
	}
	ceiling *= 1 + nameBonus
	return ceiling
}

// top returns the limit best docs scored (every one when limit < 0) that
// pass filter, best first.
func (s *scorer) top(filter func(*Doc) bool, limit int) []cand {
	top := &hitHeap{ix: s.ix}
	for _, d := range s.sc.touched {
		score := s.early(d)
		if limit > 0 && len(top.items) == limit && score*s.maxLate < top.items[0].score {
			continue
		}
		if filter != nil && !filter(&s.ix.docs[d]) {
			continue
		}
		top.offer(cand{doc: d, score: s.late(d, score)}, limit)
	}
	return top.sorted()
}

// early is doc d's score before the bonuses of late: its BM25F sum, scaled by
// the share of the query's importance it covers, with the bonus for covering
// every concept and the penalty for an app the query does not name.
func (s *scorer) early(d int32) float64 {
	score := s.sc.total[d]
	if s.totalImportance > 0 {
		score *= coverageFloor + (1-coverageFloor)*s.sc.cov[d]/s.totalImportance
	}
	if len(s.concepts) > 1 && s.sc.mask[d] == s.allBits {
		score *= allCoveredBonus
	}
	if s.mentioned != nil && !s.mentioned[s.ix.docApp[d]] {
		score *= otherAppFactor
	}
	return score
}

// late applies to score, doc d's early score, the verb, name and surface
// bonuses.
func (s *scorer) late(d int32, score float64) float64 {
	if s.verb != nil {
		score *= s.ix.verbFactor(s.verb, d)
	}
	names := s.ix.nameTerms[s.ix.nameStart[d]:s.ix.nameStart[d+1]]
	if len(names) == 0 {
		return score
	}
	explained, exact := s.sc.explained(names)
	score *= 1 + nameBonus*float64(explained)/float64(len(names))
	if s.sc.surf[d] > 0 {
		score *= 1 + surfaceBonus*min(1, float64(s.sc.surf[d])/float64(max(exact, 1)))
	}
	return score
}

// explained is the sum of the term weights of the terms of a doc's name, and
// the number of them that are query words themselves (weight 1).
func (sc *scratch) explained(names []int32) (explained float32, exact int) {
	for _, t := range names {
		w := sc.termW[t]
		explained += w
		if w == 1 {
			exact++
		}
	}
	return explained, exact
}

// namesMentionedApp reports whether concept c is a word of the name of an app
// the query names ("sheet" in "add a row to my Google Sheet"): it names the
// app, not what to do in it.
func (ix *Index) namesMentionedApp(c *concept, mentioned []bool) bool {
	if c.exact < 0 || mentioned == nil {
		return false
	}
	t := ix.terms[c.exact]
	for a, ok := range mentioned {
		if !ok {
			continue
		}
		for _, p := range ix.apps[a].phrases {
			if slices.Contains(p, t) {
				return true
			}
		}
	}
	return false
}

// verbFactor is the bonus of doc d for the query's verb concept.
func (ix *Index) verbFactor(verb *concept, d int32) float64 {
	v := ix.docVerb[d]
	if v < 0 {
		return 1
	}
	if v == verb.exact {
		return 1 + verbBonus
	}
	for _, s := range verb.verbSyns {
		if s.term == v {
			return 1 + verbBonus*s.weight
		}
	}
	return 1
}

// browse lists an app's docs that pass filter, by tool name, with score 0.
func (ix *Index) browse(app int32, filter func(*Doc) bool, limit int) []cand {
	var out []cand
	for _, d := range ix.apps[app].docs {
		if limit >= 0 && len(out) >= limit {
			break
		}
		if filter != nil && !filter(&ix.docs[d]) {
			continue
		}
		out = append(out, cand{doc: d})
	}
	return out
}
