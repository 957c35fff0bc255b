// This file collects configuration problems, each naming the setting and how to set it.

package config

import (
	"fmt"
	"slices"
	"strings"
)

// problems collects messages in order of appearance. Messages added with owned share
// one line per template, naming every connection or workflow it applies to.
type problems struct {
	muted  bool // drop everything: used while resolving informational values
	items  []string
	owners map[int][]string
	index  map[string]int
}

func (p *problems) add(format string, args ...any) {
	if p.muted {
		return
	}
	p.items = append(p.items, fmt.Sprintf(format, args...))
}

// owned records a problem of owner (`connection "slack"`); template holds one %s,
// which becomes the list of owners.
func (p *problems) owned(owner, template string) {
	if p.muted {
		return
	}
	if p.index == nil {
		p.index, p.owners = map[string]int{}, map[int][]string{}
	}
	i, ok := p.index[template]
	if !ok {
		i = len(p.items)
		p.index[template] = i
		p.items = append(p.items, template)
	}
	if !slices.Contains(p.owners[i], owner) {
		p.owners[i] = append(p.owners[i], owner)
	}
}

// ownedText records text as a problem of owner, or alone when owner is empty; the
// owner is appended in parentheses.
func (p *problems) ownedText(owner, text string) {
	if owner == "" {
		p.add("%s", text)
		return
	}
	p.owned(owner, strings.ReplaceAll(text, "%", "%%")+" (%s)")
}

func (p *problems) list() []string {
	out := make([]string, len(p.items))
	for i, s := range p.items {
		if o, ok := p.owners[i]; ok {
			s = fmt.Sprintf(s, strings.Join(o, ", "))
		}
		out[i] = s
	}
	return out
}

// sourced is a setting's value and where it came from, for messages.
type sourced struct {
	val, src string
}

// first returns the first setting that has a value, or the zero sourced.
func first(vals ...sourced) sourced {
	for _, v := range vals {
		if v.val != "" {
			return v
		}
	}
	return sourced{}
}
