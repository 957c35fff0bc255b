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
	type scored struct {
		slug    string
		frac    float64
		matched int
	}
	var found []scored
	for _, app := range ix.apps {
		best := scored{slug: app.slug}
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
		if best.matched > 0 && best.frac >= 0.5 {
			found = append(found, best)
		}
	}
	sort.Slice(found, func(i, j int) bool {
		a, b := found[i], found[j]
		if a.frac != b.frac {
			return a.frac > b.frac
		}
		if a.matched != b.matched {
			return a.matched > b.matched
		}
		return a.slug < b.slug
	})
	if len(found) == 0 {
		return nil
	}
	out := make([]string, len(found))
	for i, f := range found {
		out[i] = f.slug
	}
	return out
}
