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
	o := object{b: b}
	b.WriteByte('{')
	o.text("type", n.typ)
	o.text("title", n.title)
	o.text("description", n.desc)
	if len(n.enum) > 0 {
		o.key("enum")
		writeArray(b, len(n.enum), func(i int) { b.Write(n.enum[i]) })
	}
	if n.def != nil {
		o.key("default")
		b.Write(n.def)
	}
	o.number("minimum", n.min)
	o.number("maximum", n.max)
	if n.items != nil {
		o.key("items")
		n.items.write(b)
	}
	if n.props != nil || n.propsAlways {
		o.key("properties")
		n.writeProps(b)
	}
	if len(n.required) > 0 {
		o.key("required")
		writeArray(b, len(n.required), func(i int) { writeString(b, n.required[i]) })
	}
	if n.addl != nil {
		o.key("additionalProperties")
		b.WriteString(strconv.FormatBool(*n.addl))
	}
	b.WriteByte('}')
}

// writeProps writes the properties as a JSON object, in slice order.
func (n *node) writeProps(b *bytes.Buffer) {
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

// object writes the members of a JSON object, separating them.
type object struct {
	b    *bytes.Buffer
	some bool // a member was written
}

// key writes the key of the next member.
func (o *object) key(k string) {
	if o.some {
		o.b.WriteByte(',')
	}
	o.some = true
	writeString(o.b, k)
	o.b.WriteByte(':')
}

// text writes a string member, unless s is "".
func (o *object) text(k, s string) {
	if s != "" {
		o.key(k)
		writeString(o.b, s)
	}
}

// number writes a number member, unless f is nil.
func (o *object) number(k string, f *float64) {
	if f != nil {
		o.key(k)
		writeNumber(o.b, *f)
	}
}

// writeArray writes a JSON array of n elements, each written by elem.
func writeArray(b *bytes.Buffer, n int, elem func(i int)) {
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		elem(i)
	}
	b.WriteByte(']')
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
