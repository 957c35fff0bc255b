package search

import "sort"

// Apps returns the slugs of the indexed apps that query names, best first: an
// app matches when the query holds at least half of the words of its slug,
// its name or one of its aliases (a near spelling counts for longer words).
// Apps whose whole name is in the query come before partial matches ("google
// sheets" ranks google_sheets before google_drive); ties are broken by slug.
func (ix *Index) Apps(query string) []string {
	if ix == nil {
		return nil
	}
	words := appWords(ix, ix.concepts(query))
	if len(words) == 0 {
		return nil
	}
	var found []appMatch
	for a := range ix.apps {
		if m := bestPhraseMatch(&ix.apps[a], words); m.matched > 0 && m.frac >= 0.5 {
			found = append(found, m)
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].before(&found[j]) })
	if len(found) == 0 {
		return nil
	}
	out := make([]string, len(found))
	for i, f := range found {
		out[i] = f.slug
	}
	return out
}

// appMatch is how well a query names an app: the share of the words of its
// best phrase the query holds, and how many.
type appMatch struct {
	slug    string
	frac    float64
	matched int
}

// before reports whether m ranks before o: a larger share, then more words,
// then by slug.
func (m *appMatch) before(o *appMatch) bool {
	if m.frac != o.frac {
		return m.frac > o.frac
	}
	if m.matched != o.matched {
		return m.matched > o.matched
	}
	return m.slug < o.slug
}

// bestPhraseMatch is how well words name app: by its phrase of which they
// hold the largest share, then the most words.
func bestPhraseMatch(app *appInfo, words map[string]bool) appMatch {
	best := appMatch{slug: app.slug}
	for _, p := range app.phrases {
		m := 0
		for _, t := range p {
			if words[t] {
				m++
			}
		}
		f := float64(m) / float64(len(p))
		if f > best.frac || (f == best.frac && m > best.matched) {
			best.frac, best.matched = f, m
		}
	}
	return best
}
