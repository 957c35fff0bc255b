package pdtest

// This file owns the catalog's template language: {{prop}} and {{$special}}
// placeholders in options and run behaviours, and how values become text.

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// templateContext renders the catalog's templates. A string that is exactly one
// placeholder, "{{name}}", becomes the value itself (keeping its JSON type);
// placeholders inside longer strings become text. "{{name|default}}" uses the
// default (parsed as JSON when it is JSON, else taken as text) when the prop is
// absent. Names are configured prop names (values unwrapped from __lv), or:
//
//	$id $hex $uuid $num $ts   random values, stable within one run ($numstr is
//	                          $num as a string)
//	$seq                      1, 2, 3... per action (per Fake)
//	$now $unix                the current time (RFC 3339 UTC; Unix seconds)
//	$user                     the external user id
//	$input $inputCount        the configured props except app props; their number
//	$fields                   configured props added by reload-props
//	$items $count $i          the list built from a run's item template; its
//	                          length; the 1-based index inside an item
type templateContext struct {
	vals   map[string]any
	input  map[string]any
	fields map[string]any
	user   string
	seq    int
	fixed  map[string]any
	items  []any
	i      int
}

func newTemplateContext(vals map[string]any, user string, seq int) *templateContext {
	return &templateContext{vals: vals, input: vals, fields: map[string]any{}, user: user, seq: seq, fixed: map[string]any{}}
}

// render returns v with every string rendered.
func (c *templateContext) render(v any) any {
	switch v := v.(type) {
	case string:
		return c.renderString(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = c.render(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = c.render(e)
		}
		return out
	}
	return v
}

// renderJSON renders a raw template; nil when raw is empty.
func (c *templateContext) renderJSON(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	return c.render(v)
}

func (c *templateContext) renderString(s string) any {
	if strings.HasPrefix(s, "{{") && strings.HasSuffix(s, "}}") && !strings.Contains(s[2:len(s)-2], "{{") {
		return c.lookup(s[2 : len(s)-2])
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(stringify(c.lookup(s[i+2 : i+j])))
		s = s[i+j+2:]
	}
}

func (c *templateContext) lookup(expr string) any {
	name, def, hasDef := strings.Cut(expr, "|")
	name = strings.TrimSpace(name)
	if strings.HasPrefix(name, "$") {
		return c.special(name)
	}
	if v, ok := c.vals[name]; ok && v != nil {
		return v
	}
	if !hasDef {
		return nil
	}
	var d any
	if json.Unmarshal([]byte(def), &d) == nil {
		return d
	}
	return def
}

// special returns the value of a $name placeholder; nil for an unknown name.
func (c *templateContext) special(name string) any {
	if gen, ok := randomValues[name]; ok {
		return c.once(name, gen)
	}
	if get, ok := runValues[name]; ok {
		return get(c)
	}
	return nil
}

// once returns the value of a random placeholder: generated on first use,
// then the same for the rest of the run.
func (c *templateContext) once(name string, gen func() any) any {
	if v, ok := c.fixed[name]; ok {
		return v
	}
	v := gen()
	c.fixed[name] = v
	return v
}

// randomValues generate the random placeholders.
var randomValues = map[string]func() any{
	"$id":   func() any { return randomAlnum(10) },
	"$hex":  func() any { return randomHex(16) },
	"$uuid": randomUUID,
	"$num":  randomNum,
	"$ts":   timestamp,
}

// runValues read the other placeholders from the run.
var runValues = map[string]func(c *templateContext) any{
	"$numstr":     func(c *templateContext) any { return stringify(c.once("$num", randomNum)) },
	"$seq":        func(c *templateContext) any { return c.seq },
	"$now":        func(*templateContext) any { return time.Now().UTC().Format(time.RFC3339) },
	"$unix":       func(*templateContext) any { return time.Now().Unix() },
	"$user":       func(c *templateContext) any { return c.user },
	"$input":      func(c *templateContext) any { return c.input },
	"$inputCount": func(c *templateContext) any { return len(c.input) },
	"$fields":     func(c *templateContext) any { return c.fields },
	"$items":      (*templateContext).itemList,
	"$count":      func(c *templateContext) any { return len(c.items) },
	"$i":          func(c *templateContext) any { return c.i },
}

// itemList is {{$items}}: the rendered items, or an empty list.
func (c *templateContext) itemList() any {
	if c.items == nil {
		return []any{}
	}
	return c.items
}

// randomUUID is a random version 4 UUID.
func randomUUID() any {
	h := randomHex(32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

// randomNum is a random 10-digit number starting with 1.
func randomNum() any {
	n, _ := strconv.Atoi("1" + strings.Map(func(r rune) rune { return '0' + r%10 }, randomAlnum(9)))
	return n
}

// timestamp is the current Unix time with microseconds, as text
// ("1718000000.123456").
func timestamp() any {
	now := time.Now()
	return fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)
}

// stringify is a value as text: strings as is, whole numbers without a
// fraction, lists of scalars joined with ", ", other values as JSON.
func stringify(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case bool:
		return strconv.FormatBool(v)
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			if _, nested := e.(map[string]any); nested {
				b, _ := json.Marshal(v)
				return string(b)
			}
			parts = append(parts, stringify(e))
		}
		return strings.Join(parts, ", ")
	}
	b, _ := json.Marshal(v)
	return string(b)
}
