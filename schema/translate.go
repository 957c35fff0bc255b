package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// The reserved arguments every tool takes. No Pipedream prop name starts with "_";
// a prop that does is renamed (see Arg), never these.
const (
	// ArgAccountID picks one of the caller's connected accounts (apn_...).
	ArgAccountID = "_account_id"
	// ArgDynamicPropsID carries a dynamic props ID (dyp_...) from pipedream_describe.
	ArgDynamicPropsID = "_dynamic_props_id"
	// ArgStash asks an action whose File Stash is optional to keep the files
	// it writes, and the result to link them (listed only on those tools).
	ArgStash = "_stash"
)

// IsReservedArg reports whether name is one of the reserved arguments.
func IsReservedArg(name string) bool {
	return name == ArgAccountID || name == ArgDynamicPropsID || name == ArgStash
}

// stashDescription is what the schema says of _stash.
const stashDescription = "true to keep the files this action writes (File Stash) and get their links in the result."

// dynamicPropsIDDescription is what the schema says of _dynamic_props_id. The
// reserved arguments are explained once, in the server's instructions, not in
// every tool (DESIGN.md "Tool definitions stay lean"): _account_id carries no
// description, and _dynamic_props_id only this reminder, on the tools that
// take it.
const dynamicPropsIDDescription = "dyp_... from pipedream_describe."

// Options are the translation settings of one connection.
type Options struct {
	// App is the connection's app slug: the app prop for this app is the one the
	// server fills with the caller's account.
	App string
	// Stash is the component's File Stash need ("optional" adds _stash).
	Stash string
}

// Translation is a component's props turned into a tool input schema, with what
// the tool layer needs to describe the tool and to build configured_props.
type Translation struct {
	// Schema is the input schema: compact JSON, byte-identical for identical props.
	Schema json.RawMessage
	// AppProp is the name of the app prop whose app is Options.App ("" if none;
	// the first one if several).
	AppProp string
	// AppProps lists every app prop, in prop order.
	AppProps []AppProp
	// Args has one entry per argument (reserved arguments excluded), in prop order.
	Args []Arg
	// Dynamic reports that some prop (hidden ones included) has reloadProps: the
	// schema is incomplete until pipedream_describe reloads the props.
	Dynamic bool
	// Alerts are the contents of visible alert props, as plain text.
	Alerts []string
	// Skipped lists the props that are not arguments, with the reason.
	Skipped []Skipped
	// Unknown names the props whose type this package does not know; they are
	// arguments that take any JSON value. The tool layer logs them.
	Unknown []string

	root     *node          // the schema tree Schema was encoded from
	byName   map[string]int // argument name -> index in Args
	byProp   map[string]int // prop name -> index in Args
	defaults []decodedValue // Args[i].Default decoded once, for ConfiguredProps
}

// decodedValue is a JSON value decoded with UseNumber; ok is false when there
// is none (or it does not decode).
type decodedValue struct {
	v  any
	ok bool
}

// AppProp is a prop of type app: Name is the prop's name (the key of the account
// in configured_props), App the app's name slug.
type AppProp struct {
	Name, App string
}

// Arg is one argument of the tool and the prop it sets.
type Arg struct {
	// Name is the argument name in the schema; it differs from Prop only when the
	// prop's name starts with "_" or is not a valid property name.
	Name string
	// Prop is the prop's name, the key in configured_props.
	Prop string
	// Type is the prop's type as Pipedream gave it ("string", "integer[]", ...).
	Type string
	// Label and Description are the prop's, cleaned (markdown links made readable,
	// long text cut). Description carries none of the hints the schema adds.
	Label, Description string
	// Required is true for a non-optional prop without a default.
	Required bool
	// The prop's flags.
	RemoteOptions, UseQuery, ReloadProps, WithLabel bool
	// Secret marks a prop whose value must never be shown (a token, a password).
	Secret bool
	// Default is the prop's default (compact JSON), nil when it has none.
	Default json.RawMessage
	// Options are the prop's static options.
	Options []pdclient.PropOption
}

// Skipped is a prop that is not an argument.
type Skipped struct {
	Name, Type, Reason string
}

// Arg returns the argument named name.
func (t *Translation) Arg(name string) (Arg, bool) {
	i, ok := t.byName[name]
	if !ok {
		return Arg{}, false
	}
	return t.Args[i], true
}

// ArgForProp returns the argument that sets the prop named prop.
func (t *Translation) ArgForProp(prop string) (Arg, bool) {
	i, ok := t.byProp[prop]
	if !ok {
		return Arg{}, false
	}
	return t.Args[i], true
}

// validName is Claude's rule for property keys, the strictest of the clients.
var validName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,64}$`)

// Translate turns props (a component's configurable_props, or reloaded props) into
// a tool input schema. It fails only for input that cannot be translated at all: a
// prop without a name, or two props with the same name. Everything else is
// translated: unknown types become free values (and are listed in Unknown), props
// that are not arguments are listed in Skipped.
func Translate(props []pdclient.ConfigurableProp, opts Options) (*Translation, error) {
	seen := make(map[string]int, len(props))
	for i, p := range props {
		if p.Name == "" {
			return nil, fmt.Errorf("schema: prop %d (type %q) has no name", i, p.Type)
		}
		if j, dup := seen[p.Name]; dup {
			return nil, fmt.Errorf("schema: props %d and %d are both named %q", j, i, p.Name)
		}
		seen[p.Name] = i
	}

	t := &Translation{
		byName: make(map[string]int),
		byProp: make(map[string]int),
	}
	var argIdx []int
	for i, p := range props {
		if p.ReloadProps {
			t.Dynamic = true
		}
		if reason := t.skip(p, opts); reason != "" {
			t.Skipped = append(t.Skipped, Skipped{Name: p.Name, Type: p.Type, Reason: reason})
			continue
		}
		argIdx = append(argIdx, i)
	}

	names := argNames(props, argIdx)
	root := &node{typ: "object", propsAlways: true, props: []field{}}
	for k, i := range argIdx {
		p := props[i]
		arg, n := translateProp(p, names[k])
		if _, known := knownTypes[p.Type]; !known {
			t.Unknown = append(t.Unknown, p.Name)
		}
		t.byName[arg.Name] = len(t.Args)
		t.byProp[arg.Prop] = len(t.Args)
		t.Args = append(t.Args, arg)
		var def decodedValue
		if arg.Default != nil {
			v, err := decode(arg.Default)
			def = decodedValue{v, err == nil}
		}
		t.defaults = append(t.defaults, def)
		root.props = append(root.props, field{arg.Name, n})
		if arg.Required {
			root.required = append(root.required, arg.Name)
		}
	}
	// The reserved arguments come last, after the props; _dynamic_props_id
	// only where there are dependent fields (the validator accepts both
	// everywhere).
	root.props = append(root.props, field{ArgAccountID, &node{typ: "string"}})
	if t.Dynamic {
		root.props = append(root.props, field{ArgDynamicPropsID, &node{typ: "string", desc: dynamicPropsIDDescription}})
	}
	if opts.Stash == pdclient.StashOptional {
		root.props = append(root.props, field{ArgStash, &node{typ: "boolean", desc: stashDescription}})
	}
	// "required" is sorted so that reordering props does not change it, and
	// omitted when empty: draft-04 validators reject an empty "required" array
	// (minItems 1 in that draft's metaschema), and some clients still use one.
	sort.Strings(root.required)
	// additionalProperties is decided, never left to the client's default:
	// components with reloadProps props get fields that only exist after a reload
	// (pipedream_describe), so their tools must accept names the static schema
	// does not list; every other tool rejects unknown names, which catches typos.
	addl := t.Dynamic
	root.addl = &addl

	t.root = root
	t.Schema = root.encode()
	return t, nil
}

// skip returns why p is not an argument, or "".
func (t *Translation) skip(p pdclient.ConfigurableProp, opts Options) string {
	switch {
	case p.Type == "app":
		return t.skipApp(p, opts)
	case p.Type == "alert":
		if !p.Hidden && !p.Disabled {
			if s := plainText(p.Content); s != "" {
				t.Alerts = append(t.Alerts, s)
			}
		}
		return "alert: informational text"
	case p.Type == "dir":
		return "dir: a File Stash directory the platform manages"
	case p.Type == "data_store" || p.Type == "datastore":
		return "data store: managed by Pipedream"
	case strings.HasPrefix(p.Type, "$.interface."):
		return "interface prop: set by the platform"
	case strings.HasPrefix(p.Type, "$.service."):
		return "service prop: set by the platform"
	case p.Disabled:
		return "disabled"
	case p.Hidden:
		return "hidden"
	case p.ReadOnly:
		return "read-only"
	}
	return ""
}

// skipApp records an app prop and says why it is not an argument: the server
// sets the account of the connection's app, and no other.
func (t *Translation) skipApp(p pdclient.ConfigurableProp, opts Options) string {
	t.AppProps = append(t.AppProps, AppProp{Name: p.Name, App: p.App})
	switch {
	case opts.App == "":
		return "app prop: the server sets the account"
	case p.App != opts.App:
		return fmt.Sprintf("app prop for another app (%q): this connection provides %q accounts only", p.App, opts.App)
	case t.AppProp == "":
		t.AppProp = p.Name
		return "app prop: the server sets the connected account"
	}
	return "app prop: a second prop for the connection's app"
}

// argNames chooses the argument name of each argument prop (argIdx indexes props).
// Names that are valid and do not start with "_" are kept. The others are derived
// ("_x" -> "prop__x", invalid characters -> "_", long names shortened with a hash)
// and made unique against every prop name and the reserved arguments, in prop
// order, so that a valid name never moves.
func argNames(props []pdclient.ConfigurableProp, argIdx []int) []string {
	taken := map[string]bool{ArgAccountID: true, ArgDynamicPropsID: true, ArgStash: true}
	for _, p := range props {
		taken[p.Name] = true
	}
	out := make([]string, len(argIdx))
	for k, i := range argIdx {
		name := props[i].Name
		if validName.MatchString(name) && name[0] != '_' {
			out[k] = name
			continue
		}
		base := sanitize(name)
		if base[0] == '_' {
			base = "prop_" + base
		}
		if len(base) > 64 || taken[base] {
			h := fnv.New32a()
			h.Write([]byte(name))
			base = fmt.Sprintf("%s_%08x", truncate(base, 64-9), h.Sum32())
		}
		cand := base
		for n := 2; taken[cand]; n++ {
			suffix := fmt.Sprintf("_%d", n)
			cand = truncate(base, 64-len(suffix)) + suffix
		}
		taken[cand] = true
		out[k] = cand
	}
	return out
}

// sanitize replaces every character outside [a-zA-Z0-9_.-] with "_".
func sanitize(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// knownTypes are the prop types with a defined shape. The non-schema types
// number, number[] and boolean[] are handled by Pipedream's own MCP mapper
// (modelcontextprotocol/src/lib/componentMapper.ts), so they are known here too.
var knownTypes = map[string]func() *node{
	"string":             func() *node { return &node{typ: "string"} },
	"string[]":           func() *node { return arrayOf(&node{typ: "string"}) },
	"integer":            func() *node { return &node{typ: "integer"} },
	"integer[]":          func() *node { return arrayOf(&node{typ: "integer"}) },
	"number":             func() *node { return &node{typ: "number"} },
	"number[]":           func() *node { return arrayOf(&node{typ: "number"}) },
	"boolean":            func() *node { return &node{typ: "boolean"} },
	"boolean[]":          func() *node { return arrayOf(&node{typ: "boolean"}) },
	"object":             func() *node { return &node{typ: "object"} },
	"any":                func() *node { return &node{} },
	"sql":                sqlNode,
	"http_request":       httpRequestNode,
	"$.airtable.baseId":  func() *node { return &node{typ: "string"} },
	"$.airtable.tableId": func() *node { return &node{typ: "string"} },
	"$.airtable.viewId":  func() *node { return &node{typ: "string"} },
	"$.airtable.fieldId": func() *node { return &node{typ: "string"} },
	"$.discord.channel":  func() *node { return &node{typ: "string"} },
	"$.discord.channel[]": func() *node {
		return arrayOf(&node{typ: "string"})
	},
}

// typeHints say in words what the schema cannot: free values, ID formats.
// ("object" has none: its "type" says it.)
var typeHints = map[string]string{
	"any":                 "Any JSON value (string, number, boolean, array or object).",
	"sql":                 "A SQL statement with its parameters.",
	"http_request":        "An HTTP request: url, method, headers, params, body and auth.",
	"$.airtable.baseId":   "An Airtable base ID (app...).",
	"$.airtable.tableId":  "An Airtable table ID (tbl...) or name.",
	"$.airtable.viewId":   "An Airtable view ID (viw...) or name.",
	"$.airtable.fieldId":  "An Airtable field ID (fld...) or name.",
	"$.discord.channel":   "A Discord channel ID.",
	"$.discord.channel[]": "Discord channel IDs.",
}

func arrayOf(items *node) *node { return &node{typ: "array", items: items} }

// sqlNode is a sql prop's value: the fields Pipedream's ConfiguredPropValueSql
// lists that an agent sets. Nested objects leave additionalProperties unset (open):
// the documented shapes drift (the docs add auth), and Pipedream decides.
func sqlNode() *node {
	return &node{typ: "object", props: []field{
		{"query", &node{typ: "string", desc: "The SQL statement. Use placeholders with params for values."}},
		{"params", &node{typ: "array", desc: "Values for the statement's placeholders, in order.", items: &node{}}},
		{"usePreparedStatements", &node{typ: "boolean", desc: "Run the statement as a prepared statement with params."}},
	}, required: []string{"query"}}
}

// httpRequestNode is an http_request prop's value (HttpRequestConfig without the
// UI's tab). Nested objects stay open, as for sql.
func httpRequestNode() *node {
	pairs := func(desc string) *node {
		return &node{typ: "array", desc: desc, items: &node{typ: "object", props: []field{
			{"name", &node{typ: "string"}},
			{"value", &node{typ: "string"}},
		}, required: []string{"name"}}}
	}
	return &node{typ: "object", props: []field{
		{"url", &node{typ: "string", desc: "The request URL."}},
		{"method", &node{typ: "string", desc: "The HTTP method: GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS."}},
		{"headers", pairs("Request headers.")},
		{"params", pairs("Query string parameters.")},
		{"body", &node{typ: "object", desc: "The request body.", props: []field{
			{"mode", &node{typ: "string", desc: "fields: send fields as key/value pairs; raw: send raw as it is.", enum: rawStrings("fields", "raw")}},
			{"contentType", &node{typ: "string", desc: "The body's content type, such as application/json."}},
			{"fields", pairs("Body fields (mode fields).")},
			{"raw", &node{typ: "string", desc: "The raw body (mode raw)."}},
		}}},
		{"auth", &node{typ: "object", desc: "Request authentication.", props: []field{
			{"type", &node{typ: "string", enum: rawStrings("basic", "bearer", "none")}},
			{"username", &node{typ: "string"}},
			{"password", &node{typ: "string"}},
			{"token", &node{typ: "string"}},
		}}},
	}, required: []string{"url"}}
}

func rawStrings(vs ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(vs))
	for i, v := range vs {
		var b bytes.Buffer
		writeString(&b, v)
		out[i] = b.Bytes()
	}
	return out
}

// translateProp builds the argument and the property node of an argument prop.
func translateProp(p pdclient.ConfigurableProp, name string) (Arg, *node) {
	arg := Arg{
		Name:          name,
		Prop:          p.Name,
		Type:          p.Type,
		Label:         oneLine(p.Label),
		Description:   cleanDescription(p.Description),
		RemoteOptions: p.RemoteOptions,
		UseQuery:      p.UseQuery,
		ReloadProps:   p.ReloadProps,
		WithLabel:     p.WithLabel,
		Secret:        p.Secret,
		Options:       append([]pdclient.PropOption(nil), p.Options...),
	}
	if d, ok := compact(p.Default); ok && string(d) != "null" {
		arg.Default = d
	}
	// Required: non-optional props without a default (Pipedream's clients copy
	// defaults in when there is no value, so a default satisfies the prop).
	arg.Required = !p.Optional && arg.Default == nil

	n, known := propNode(p)
	hints := propHints(p, arg, n, known)
	// title carries the label (the MCP Inspector and form-rendering clients show
	// it) unless it only restates the name or the description; everything else
	// an agent must know goes in the one description.
	n.desc = strings.Join(hints, " ")
	if !restates(arg.Label, name, n.desc) {
		n.title = cut(arg.Label, 200)
	}
	return arg, n
}

// restates reports whether every word of label is a word of the argument's
// name or of its description ("Page Size" for pageSize, "Channel" for a
// conversation described as "Select a channel"): such a title tells a model
// nothing the property does not already say.
func restates(label, name, desc string) bool {
	lw := words(label)
	if len(lw) == 0 {
		return true
	}
	have := words(name)
	for w := range words(desc) {
		have[w] = true
	}
	for w := range lw {
		if !have[w] {
			return false
		}
	}
	return true
}

// words are the lower-case words of s, split at anything but letters and
// digits and between camelCase humps, each without a plural "s".
func words(s string) map[string]bool {
	out := make(map[string]bool)
	var w []rune
	flush := func() {
		if len(w) > 0 {
			k := strings.ToLower(string(w))
			if len(k) > 3 {
				k = strings.TrimSuffix(k, "s")
			}
			out[k] = true
			w = w[:0]
		}
	}
	var prev rune
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)) {
				flush()
			}
			w = append(w, r)
		default:
			flush()
		}
		prev = r
	}
	flush()
	return out
}

// propNode is the schema node of a prop's type, with its bounds; known is false
// for a type this package does not know.
func propNode(p pdclient.ConfigurableProp) (n *node, known bool) {
	mk, known := knownTypes[p.Type]
	if known {
		n = mk()
	} else {
		// Unknown types are free values, never dropped: the tool layer logs them
		// and the agent can still pass what the action expects. A property without
		// "type" is JSON Schema's "any value"; Claude, OpenAI (non-strict) and
		// the MCP Inspector accept it, and the description says it in words.
		n = &node{}
	}
	if v := valueNode(n); v.typ == "integer" || v.typ == "number" {
		setBounds(v, p.Min, p.Max)
	}
	return n, known
}

// valueNode is the node enum and bounds sit on: the items of an array prop,
// else n.
func valueNode(n *node) *node {
	if n.typ == "array" {
		return n.items
	}
	return n
}

// propHints returns the sentences of a prop's description, setting n's enum
// and default on the way when they can be keywords.
func propHints(p pdclient.ConfigurableProp, arg Arg, n *node, known bool) []string {
	var hints []string
	if arg.Description != "" {
		hints = append(hints, sentence(arg.Description))
	}
	if h, ok := typeHints[p.Type]; ok {
		hints = append(hints, h)
	} else if !known {
		hints = append(hints, fmt.Sprintf("Any JSON value: this server does not know the prop type %q; give the value the action expects.", oneLine(p.Type)))
	}
	// Secret and file hints go in words: keywords such as format or writeOnly are
	// not accepted by every client.
	if p.Secret {
		hints = append(hints, "Sensitive value (secret).")
	}
	if p.Format == "file-ref" {
		hints = append(hints, "A file: give a URL or a path under /tmp.")
	}
	if h := setEnum(valueNode(n), p.Options); h != "" {
		hints = append(hints, h)
	}
	if arg.Default != nil {
		// default is an annotation; a value of the wrong type (or outside the
		// enum) would mislead clients that prefill forms, so it is said in words.
		if v, err := decode(arg.Default); err == nil && conforms(n, v) {
			n.def = arg.Default
		} else {
			hints = append(hints, sentence("Default: "+cut(string(arg.Default), 200)))
		}
	}
	// The options and dependent-field hints are said once, here in the
	// property (where catalog mode's pipedream_describe shows them too); the
	// server's instructions explain them (prop is this field, IDs may be given
	// directly).
	if p.RemoteOptions {
		if p.UseQuery {
			hints = append(hints, OptionsHint+" (supports query).")
		} else {
			hints = append(hints, OptionsHint+".")
		}
	}
	if p.ReloadProps {
		hints = append(hints, DependentHint)
	}
	return hints
}

// The hints a property's description ends with: its values come from
// pipedream_list_options; other fields depend on it.
const (
	OptionsHint   = "Values: pipedream_list_options"
	DependentHint = "Other fields depend on this one: call pipedream_describe."
)

// setBounds sets minimum and maximum from a prop's min and max, ignoring values
// that are not finite and a pair that no value satisfies.
func setBounds(n *node, lo, hi *float64) {
	ok := func(f *float64) bool { return f != nil && !math.IsNaN(*f) && !math.IsInf(*f, 0) }
	if ok(lo) && ok(hi) && *lo > *hi {
		return
	}
	if ok(lo) {
		v := *lo
		n.min = &v
	}
	if ok(hi) {
		v := *hi
		n.max = &v
	}
}

// setEnum turns static options into n's enum and returns the description text
// they need. Values are kept only when every one is a value of n's type (an enum
// that contradicts "type" makes strict validators, such as the MCP Inspector's,
// reject the schema or every value); otherwise there is no enum and the options
// are listed in words. Labels that differ from values are listed in words too:
// oneOf/const pairs are refused by Gemini and OpenAI function declarations.
func setEnum(n *node, opts []pdclient.PropOption) string {
	if len(opts) == 0 {
		return ""
	}
	type opt struct {
		value json.RawMessage
		label string
	}
	var list []opt
	seen := make(map[string]bool)
	fits := true
	for _, o := range opts {
		v, ok := compact(o.Value)
		if !ok || seen[string(v)] {
			continue
		}
		seen[string(v)] = true
		list = append(list, opt{v, oneLine(o.Label)})
		dv, err := decode(v)
		if err != nil || !conforms(n, dv) {
			fits = false
		}
	}
	if len(list) == 0 {
		return ""
	}
	var parts []string
	for _, o := range list {
		differs := o.label != "" && !sameWords(o.label, valueText(o.value))
		switch {
		case differs:
			parts = append(parts, string(o.value)+": "+o.label)
		case !fits:
			parts = append(parts, string(o.value))
		}
	}
	if fits {
		for _, o := range list {
			n.enum = append(n.enum, o.value)
		}
		if len(parts) == 0 {
			return ""
		}
		return sentence(cut("Labels: "+strings.Join(parts, "; "), maxOptionList))
	}
	return sentence(cut("Options: "+strings.Join(parts, "; "), maxOptionList))
}

// sameWords reports whether a label only restates a value: the same text but
// for case, spaces and punctuation ("in_progress" and "In progress").
func sameWords(label, value string) bool {
	norm := func(s string) string {
		return strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return unicode.ToLower(r)
			}
			return -1
		}, s)
	}
	return label == value || (norm(label) != "" && norm(label) == norm(value))
}

// valueText is a value as a person reads it: a string without quotes, anything
// else as JSON.
func valueText(v json.RawMessage) string {
	var s string
	if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// compact returns raw as compact JSON; false when raw is empty or not JSON.
func compact(raw json.RawMessage) (json.RawMessage, bool) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, false
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, false
	}
	return b.Bytes(), true
}

// decode reads one JSON value keeping numbers exact (json.Number).
func decode(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

// conforms reports whether v (decoded with UseNumber) is a value of n's type and
// one of n's enum values, if n has an enum.
func conforms(n *node, v any) bool {
	if _, bad := firstInsaneNumber(v, ""); bad {
		return false
	}
	if !hasType(n, v) {
		return false
	}
	if len(n.enum) > 0 {
		return inEnum(n, v)
	}
	return true
}

// hasType reports whether v is a value of n's type; an array's items must
// conform to n's items.
func hasType(n *node, v any) bool {
	var ok bool
	switch n.typ {
	case "":
		ok = true
	case "string":
		_, ok = v.(string)
	case "integer":
		var num json.Number
		num, ok = v.(json.Number)
		ok = ok && isInteger(num)
	case "number":
		_, ok = v.(json.Number)
	case "boolean":
		_, ok = v.(bool)
	case "object":
		_, ok = v.(map[string]any)
	case "array":
		var list []any
		list, ok = v.([]any)
		for i := 0; ok && i < len(list); i++ {
			ok = conforms(n.items, list[i])
		}
	}
	return ok
}

// inEnum reports whether v equals one of n's enum values.
func inEnum(n *node, v any) bool {
	c := canon(v)
	for _, e := range n.enum {
		if ev, err := decode(e); err == nil && canon(ev) == c {
			return true
		}
	}
	return false
}

// canon is a canonical JSON text of a decoded value (sorted keys, numbers as
// written, no HTML escaping), for comparing values.
func canon(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return ""
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Numbers beyond these bounds are refused: math/big needs time and memory that
// grow with the exponent, and jsonschema panics on numbers big.Rat cannot parse
// (1e10000000). No real argument comes near them.
const (
	maxNumberLen      = 400
	maxNumberExponent = 400
)

// saneNumber reports whether a JSON number is within the bounds above.
func saneNumber(n json.Number) bool {
	s := string(n)
	if len(s) > maxNumberLen {
		return false
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || e > maxNumberExponent || e < -maxNumberExponent {
			return false
		}
	}
	return true
}

// firstInsaneNumber returns the path of the first number in v (decoded with
// UseNumber) that saneNumber refuses, and whether there is one.
func firstInsaneNumber(v any, path string) (string, bool) {
	switch x := v.(type) {
	case json.Number:
		return path, !saneNumber(x)
	case []any:
		for i, it := range x {
			if p, bad := firstInsaneNumber(it, fmt.Sprintf("%s[%d]", path, i)); bad {
				return p, true
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, bad := firstInsaneNumber(x[k], join(path, k)); bad {
				return p, true
			}
		}
	}
	return "", false
}

// isInteger reports whether a JSON number is integral (1, -3, 1e3, 2.0), the
// same test jsonschema applies to "integer".
func isInteger(n json.Number) bool {
	if !saneNumber(n) {
		return false
	}
	r, ok := new(big.Rat).SetString(string(n))
	return ok && r.IsInt()
}
