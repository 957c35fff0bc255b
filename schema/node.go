package schema

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// node is one schema object. Its fields are exactly the keywords the package is
// allowed to emit (see the package doc); nothing else can be written.
type node struct {
	typ      string            // "" means any JSON value (no "type" keyword)
	title    string            // the prop's label
	desc     string            // the composed description
	enum     []json.RawMessage // compact JSON values
	def      json.RawMessage   // compact JSON value
	min, max *float64
	items    *node
	props    []field // nil: no "properties" keyword; see propsAlways
	required []string
	addl     *bool

	// propsAlways writes "properties": {} even when props is empty (the root:
	// OpenAI rejects an object schema without properties).
	propsAlways bool
}

// field is a named property; order is the emission order.
type field struct {
	name string
	node *node
}

// prop returns the property named name, or nil.
func (n *node) prop(name string) *node {
	for _, f := range n.props {
		if f.name == name {
			return f.node
		}
	}
	return nil
}

// encode writes the node as compact JSON with a fixed key order: type, title,
// description, enum, default, minimum, maximum, items, properties, required,
// additionalProperties. Properties keep their slice order. HTML characters are not
// escaped (unlike encoding/json) so descriptions stay readable on the wire.
func (n *node) encode() []byte {
	var b bytes.Buffer
	n.write(&b)
	return b.Bytes()
}

func (n *node) write(b *bytes.Buffer) {
	b.WriteByte('{')
	first := true
	key := func(k string) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeString(b, k)
		b.WriteByte(':')
	}
	if n.typ != "" {
		key("type")
		writeString(b, n.typ)
	}
	if n.title != "" {
		key("title")
		writeString(b, n.title)
	}
	if n.desc != "" {
		key("description")
		writeString(b, n.desc)
	}
	if len(n.enum) > 0 {
		key("enum")
		b.WriteByte('[')
		for i, v := range n.enum {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(v)
		}
		b.WriteByte(']')
	}
	if n.def != nil {
		key("default")
		b.Write(n.def)
	}
	if n.min != nil {
		key("minimum")
		writeNumber(b, *n.min)
	}
	if n.max != nil {
		key("maximum")
		writeNumber(b, *n.max)
	}
	if n.items != nil {
		key("items")
		n.items.write(b)
	}
	if n.props != nil || n.propsAlways {
		key("properties")
		b.WriteByte('{')
		for i, f := range n.props {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, f.name)
			b.WriteByte(':')
			f.node.write(b)
		}
		b.WriteByte('}')
	}
	if len(n.required) > 0 {
		key("required")
		b.WriteByte('[')
		for i, r := range n.required {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, r)
		}
		b.WriteByte(']')
	}
	if n.addl != nil {
		key("additionalProperties")
		b.WriteString(strconv.FormatBool(*n.addl))
	}
	b.WriteByte('}')
}

// writeNumber writes a finite float the way encoding/json does (callers never
// pass NaN or infinities).
func writeNumber(b *bytes.Buffer, f float64) {
	out, err := json.Marshal(f)
	if err != nil {
		b.WriteByte('0')
		return
	}
	b.Write(out)
}

const hexDigits = "0123456789abcdef"

// writeString writes s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, U+2028/U+2029 escaped (as
// encoding/json does, for JavaScript consumers), and <, >, & left as they are.
func writeString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(s[start:i])
			b.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b.WriteString(s[start:i])
			b.WriteString(`\u202`)
			b.WriteByte(hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}
