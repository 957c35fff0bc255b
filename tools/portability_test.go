package tools_test

// Schema portability: every tool the sandbox serves (each app's actions, the
// pipedream_* helpers, catalog mode's tools, a workflow with the default input
// schema), in every schema profile, checked against the rules the big LLM
// hosts apply to tool definitions before a model ever sees them. A host that
// rejects one tool usually rejects the whole request, so one bad tool breaks
// every tool.
//
// Each host's rules are encoded below with where they are documented; the
// test fails when the profile meant for a host breaks one of them, and when
// the matrix of what each profile passes (the README's table) changes. Run
// with -v to see the matrix and the first violations of each cell.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/schema"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// wireTool is a tool as tools/list puts it on the wire.
type wireTool struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	InputSchema map[string]any `json:"inputSchema"`
	raw         json.RawMessage
}

// schemaNode is one schema object inside an input schema, with its JSON path.
type schemaNode struct {
	path   string // "" for the root, then ".prop", "[]" for items
	schema map[string]any
}

// schemaNodes lists every schema object of s, root first.
func schemaNodes(s map[string]any) []schemaNode {
	var out []schemaNode
	var walk func(path string, s map[string]any)
	walk = func(path string, s map[string]any) {
		out = append(out, schemaNode{path, s})
		if props, ok := s["properties"].(map[string]any); ok {
			for _, name := range slices.Sorted(maps.Keys(props)) {
				if p, ok := props[name].(map[string]any); ok {
					walk(path+"."+name, p)
				}
			}
		}
		if items, ok := s["items"].(map[string]any); ok {
			walk(path+"[]", items)
		}
		if ap, ok := s["additionalProperties"].(map[string]any); ok {
			walk(path+"{}", ap)
		}
		for _, k := range []string{"anyOf", "oneOf", "allOf"} {
			list, _ := s[k].([]any)
			for i, b := range list {
				if bs, ok := b.(map[string]any); ok {
					walk(fmt.Sprintf("%s|%s%d", path, k, i), bs)
				}
			}
		}
	}
	walk("", s)
	return out
}

func pathLabel(path string) string {
	if path == "" {
		return "the root"
	}
	return strings.TrimPrefix(path, ".")
}

// portabilityRule is one rule a host applies. check returns one line per
// violation; bad is a tool (JSON) that breaks the rule, so the test can show
// the check catches it.
type portabilityRule struct {
	rule  string
	check func(t wireTool) []string
	bad   string
}

// host is one way an LLM host takes tool definitions, with its rules.
type host struct {
	name  string
	rules []portabilityRule
}

var (
	// Anthropic and OpenAI document the same function-name pattern.
	claudeOpenAIName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	// Gemini FunctionDeclaration.name: starts with a letter or underscore;
	// letters, digits, underscores, dots, colons and dashes; at most 64.
	geminiName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$`)
)

// designKeywords are the only schema keywords DESIGN.md allows ("only keywords
// every major client accepts").
var designKeywords = []string{"type", "properties", "required", "items", "description", "title", "enum", "default", "minimum", "maximum", "additionalProperties"}

// geminiSchemaFields are the fields of Gemini's Schema object (an OpenAPI 3.0
// subset, https://ai.google.dev/api/caching#Schema). The API decodes
// `parameters` as that protobuf message, so any other key is a 400 ("Invalid
// JSON payload received. Unknown name ... Cannot find field."):
// additionalProperties among them.
var geminiSchemaFields = []string{"type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties", "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum"}

// strictKeywords are the keywords OpenAI's strict mode supports
// (https://platform.openai.com/docs/guides/structured-outputs#supported-schemas);
// any other, "default" included, is a 400 ("... is not permitted").
var strictKeywords = []string{"type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf", "$ref", "$defs", "description", "title", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems", "maxItems"}

// jsonTypes are JSON Schema's type names.
var jsonTypes = []string{"string", "integer", "number", "boolean", "object", "array", "null"}

func objectRoot(t wireTool) []string {
	if t.InputSchema["type"] != "object" {
		return []string{fmt.Sprintf(`root "type" is %v, want "object"`, t.InputSchema["type"])}
	}
	return nil
}

func objectRootWithProperties(t wireTool) []string {
	out := objectRoot(t)
	if _, ok := t.InputSchema["properties"].(map[string]any); !ok {
		out = append(out, `no "properties" map at the root`)
	}
	return out
}

func topLevel(t wireTool, keys ...string) []string {
	var out []string
	for _, k := range keys {
		if _, ok := t.InputSchema[k]; ok {
			out = append(out, "top-level "+k)
		}
	}
	return out
}

func nameMatches(re *regexp.Regexp) func(wireTool) []string {
	return func(t wireTool) []string {
		if !re.MatchString(t.Name) {
			return []string{fmt.Sprintf("name %q does not match %s", t.Name, re)}
		}
		return nil
	}
}

func descriptionAtMost(n int) func(wireTool) []string {
	return func(t wireTool) []string {
		if c := utf8.RuneCountInString(t.Description); c > n {
			return []string{fmt.Sprintf("description is %d characters", c)}
		}
		return nil
	}
}

// everyNode runs f on every schema object of the tool.
func everyNode(f func(n schemaNode) []string) func(wireTool) []string {
	return func(t wireTool) []string {
		var out []string
		for _, n := range schemaNodes(t.InputSchema) {
			out = append(out, f(n)...)
		}
		return out
	}
}

func keywordsIn(allowed []string) func(n schemaNode) []string {
	return func(n schemaNode) []string {
		var out []string
		for _, k := range slices.Sorted(maps.Keys(n.schema)) {
			if !slices.Contains(allowed, k) {
				out = append(out, fmt.Sprintf("%s: keyword %q", pathLabel(n.path), k))
			}
		}
		return out
	}
}

// typeNames are the names in a schema's "type" (one, or a list).
func typeNames(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			s, _ := e.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

func isObject(n schemaNode) bool { return slices.Contains(typeNames(n.schema["type"]), "object") }

// enumMatchesType: every enum value has (one of) the schema's declared types,
// so a host that checks enums against the type (or a model picking a value)
// never meets a contradiction.
func enumMatchesType(n schemaNode) []string {
	vals, ok := n.schema["enum"].([]any)
	if !ok {
		return nil
	}
	var out []string
	for _, v := range vals {
		if !hasType(v, typeNames(n.schema["type"])) {
			out = append(out, fmt.Sprintf("%s: enum value %v is not of type %v", pathLabel(n.path), v, n.schema["type"]))
		}
	}
	return out
}

func hasType(v any, types []string) bool {
	if len(types) == 0 {
		return true // untyped: nothing to contradict
	}
	for _, typ := range types {
		switch typ {
		case "string":
			if _, ok := v.(string); ok {
				return true
			}
		case "integer":
			if f, ok := v.(float64); ok && f == float64(int64(f)) {
				return true
			}
		case "number":
			if _, ok := v.(float64); ok {
				return true
			}
		case "boolean":
			if _, ok := v.(bool); ok {
				return true
			}
		case "null":
			if v == nil {
				return true
			}
		default:
			return true // structured: nothing to contradict
		}
	}
	return false
}

func requiredAreProperties(n schemaNode) []string {
	req, _ := n.schema["required"].([]any)
	props, _ := n.schema["properties"].(map[string]any)
	var out []string
	for _, r := range req {
		if _, ok := props[fmt.Sprint(r)]; !ok {
			out = append(out, fmt.Sprintf("%s: required %v is not a property", pathLabel(n.path), r))
		}
	}
	return out
}

// hosts are the ways the major hosts take tool definitions.
var hosts = []host{
	// Claude (Anthropic Messages API, tools[]: name, description, input_schema;
	// https://docs.anthropic.com/en/docs/agents-and-tools/tool-use).
	{"Claude", []portabilityRule{
		{"tool name matches ^[a-zA-Z0-9_-]{1,64}$", nameMatches(claudeOpenAIName),
			`{"name":"slack.send message","inputSchema":{"type":"object","properties":{}}}`},
		{`input_schema is a JSON Schema with "type": "object" at the root (Claude Code drops tools without it)`, objectRoot,
			`{"name":"x","inputSchema":{"properties":{}}}`},
		{"input_schema has no oneOf, anyOf or allOf at the top level", func(t wireTool) []string {
			return topLevel(t, "oneOf", "anyOf", "allOf")
		}, `{"name":"x","inputSchema":{"type":"object","properties":{},"anyOf":[{"required":["a"]},{"required":["b"]}]}}`},
		{"input_schema is valid JSON Schema (draft 2020-12)", func(t wireTool) []string {
			if _, err := schema.CompileInputSchema(t.raw); err != nil {
				return []string{err.Error()}
			}
			return nil
		}, `{"name":"x","inputSchema":{"type":"object","properties":{"n":{"type":"integer","minimum":"one"}}}}`},
	}},

	// OpenAI function calling, non-strict (tools[].function: name,
	// description, parameters; https://platform.openai.com/docs/guides/function-calling).
	{"OpenAI", []portabilityRule{
		{"function name matches ^[a-zA-Z0-9_-]{1,64}$", nameMatches(claudeOpenAIName),
			`{"name":"` + strings.Repeat("a", 65) + `","inputSchema":{"type":"object","properties":{}}}`},
		{`parameters is "type": "object" with a "properties" map (OpenAI and Copilot reject object schemas without properties)`, objectRootWithProperties,
			`{"name":"x","inputSchema":{"type":"object"}}`},
		{"parameters has no oneOf, anyOf, allOf, enum or not at the top level", func(t wireTool) []string {
			return topLevel(t, "oneOf", "anyOf", "allOf", "enum", "not")
		}, `{"name":"x","inputSchema":{"type":"object","properties":{},"not":{"required":["a"]}}}`},
		{"function description is at most 1024 characters (400 string_above_max_length)", descriptionAtMost(1024),
			`{"name":"x","description":"` + strings.Repeat("é", 1025) + `","inputSchema":{"type":"object","properties":{}}}`},
		{`every "type": "array" schema has "items" (400 "array schema missing items")`, everyNode(func(n schemaNode) []string {
			if slices.Contains(typeNames(n.schema["type"]), "array") && n.schema["items"] == nil {
				return []string{pathLabel(n.path) + ": array without items"}
			}
			return nil
		}), `{"name":"x","inputSchema":{"type":"object","properties":{"o":{"type":"object","properties":{"ids":{"type":"array"}}}}}}`},
	}},

	// OpenAI strict mode ("strict": true; Structured Outputs,
	// https://platform.openai.com/docs/guides/structured-outputs#supported-schemas
	// and #all-fields-must-be-required, #additionalproperties-false-must-always-be-set-in-objects).
	{"OpenAI strict", []portabilityRule{
		{"function name matches ^[a-zA-Z0-9_-]{1,64}$", nameMatches(claudeOpenAIName),
			`{"name":"a b","inputSchema":{"type":"object","properties":{},"required":[],"additionalProperties":false}}`},
		{`the root is "type": "object", not anyOf`, func(t wireTool) []string {
			return append(objectRootWithProperties(t), topLevel(t, "anyOf")...)
		}, `{"name":"x","inputSchema":{"anyOf":[{"type":"object","properties":{}}]}}`},
		{"function description is at most 1024 characters", descriptionAtMost(1024),
			`{"name":"x","description":"` + strings.Repeat("a", 1025) + `","inputSchema":{"type":"object","properties":{},"additionalProperties":false}}`},
		{"only the keywords strict mode supports (no default, format only where listed, ...)", everyNode(keywordsIn(strictKeywords)),
			`{"name":"x","inputSchema":{"type":"object","properties":{"n":{"type":"integer","default":1}},"required":["n"],"additionalProperties":false}}`},
		{`every object sets "additionalProperties": false`, everyNode(func(n schemaNode) []string {
			if isObject(n) && n.schema["additionalProperties"] != false {
				return []string{pathLabel(n.path) + ": additionalProperties is not false"}
			}
			return nil
		}), `{"name":"x","inputSchema":{"type":"object","properties":{"o":{"type":"object","properties":{},"required":[],"additionalProperties":true}},"required":["o"],"additionalProperties":false}}`},
		{`every property is in "required" (optional ones take null instead)`, everyNode(func(n schemaNode) []string {
			props, _ := n.schema["properties"].(map[string]any)
			req, _ := n.schema["required"].([]any)
			var out []string
			for _, k := range slices.Sorted(maps.Keys(props)) {
				if !slices.Contains(req, any(k)) {
					out = append(out, fmt.Sprintf("%s: property %s is not required", pathLabel(n.path), k))
				}
			}
			return out
		}), `{"name":"x","inputSchema":{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}}`},
		{`every schema has a "type" (or anyOf, $ref, enum, const)`, everyNode(func(n schemaNode) []string {
			for _, k := range []string{"type", "anyOf", "$ref", "enum", "const"} {
				if _, ok := n.schema[k]; ok {
					return nil
				}
			}
			return []string{pathLabel(n.path) + ": no type"}
		}), `{"name":"x","inputSchema":{"type":"object","properties":{"v":{"description":"any"}},"required":["v"],"additionalProperties":false}}`},
		{"at most 5000 object properties, 10 levels of nesting, 1000 enum values and 120,000 characters of names and enum values", func(t wireTool) []string {
			props, depth, enums, chars := 0, 0, 0, 0
			for _, n := range schemaNodes(t.InputSchema) {
				if p, ok := n.schema["properties"].(map[string]any); ok {
					props += len(p)
					for k := range p {
						chars += len(k)
					}
				}
				if e, ok := n.schema["enum"].([]any); ok {
					enums += len(e)
					for _, v := range e {
						chars += len(fmt.Sprint(v))
					}
				}
				depth = max(depth, strings.Count(n.path, ".")+strings.Count(n.path, "[]"))
			}
			if props > 5000 || depth > 10 || enums > 1000 || chars > 120000 {
				return []string{fmt.Sprintf("%d properties, depth %d, %d enum values, %d characters", props, depth, enums, chars)}
			}
			return nil
		}, `{"name":"x","inputSchema":{"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"object","properties":{"c":{"type":"object","properties":{"d":{"type":"object","properties":{"e":{"type":"object","properties":{"f":{"type":"object","properties":{"g":{"type":"object","properties":{"h":{"type":"object","properties":{"i":{"type":"object","properties":{"j":{"type":"object","properties":{"k":{"type":"string"}}}}}}}}}}}}}}}}}}}}}}}}`},
	}},

	// Gemini FunctionDeclaration.parameters: Gemini's Schema, an OpenAPI 3.0
	// subset (https://ai.google.dev/api/caching#FunctionDeclaration, #Schema).
	{"Gemini parameters", []portabilityRule{
		{"function name starts with a letter or underscore, then letters, digits, _ . : -, at most 64", nameMatches(geminiName),
			`{"name":"1password_get_item","inputSchema":{"type":"object","properties":{"a":{"type":"string"}}}}`},
		{"parameters describes an object whose properties are the function's parameters", objectRootWithProperties,
			`{"name":"x","inputSchema":{"type":"object","nullable":true}}`},
		{"every key is a field of Gemini's Schema (additionalProperties is not)", everyNode(keywordsIn(geminiSchemaFields)),
			`{"name":"x","inputSchema":{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}}`},
		{`every schema has a "type", one name, never a list ("Proto field is not repeating")`, everyNode(func(n schemaNode) []string {
			if _, ok := n.schema["type"].(string); !ok {
				return []string{fmt.Sprintf("%s: type is %v", pathLabel(n.path), n.schema["type"])}
			}
			return nil
		}), `{"name":"x","inputSchema":{"type":"object","properties":{"n":{"type":["integer","null"]}}}}`},
		{`enum only on "type": "string", with string values ("Possible values of the element of Type.STRING")`, everyNode(func(n schemaNode) []string {
			vals, ok := n.schema["enum"].([]any)
			if !ok {
				return nil
			}
			if n.schema["type"] != "string" {
				return []string{fmt.Sprintf("%s: enum on type %v", pathLabel(n.path), n.schema["type"])}
			}
			for _, v := range vals {
				if _, ok := v.(string); !ok {
					return []string{fmt.Sprintf("%s: enum value %v is not a string", pathLabel(n.path), v)}
				}
			}
			return nil
		}), `{"name":"x","inputSchema":{"type":"object","properties":{"n":{"type":"integer","enum":[1,2]}}}}`},
		{`every object has properties ("should be non-empty for OBJECT type")`, everyNode(func(n schemaNode) []string {
			props, _ := n.schema["properties"].(map[string]any)
			if n.schema["type"] == "object" && len(props) == 0 {
				return []string{pathLabel(n.path) + ": object without properties"}
			}
			return nil
		}), `{"name":"x","inputSchema":{"type":"object","properties":{"meta":{"type":"object","description":"Any JSON object."}}}}`},
		{`a string format is "enum" or "date-time"`, everyNode(func(n schemaNode) []string {
			if f, ok := n.schema["format"]; ok && n.schema["type"] == "string" && f != "enum" && f != "date-time" {
				return []string{fmt.Sprintf("%s: format %v", pathLabel(n.path), f)}
			}
			return nil
		}), `{"name":"x","inputSchema":{"type":"object","properties":{"e":{"type":"string","format":"email"}}}}`},
	}},

	// Gemini FunctionDeclaration.parametersJsonSchema: plain JSON Schema,
	// "The schema must describe an object where the properties are the
	// parameters to the function"; keywords outside Gemini's JSON Schema
	// support are ignored, not refused
	// (https://ai.google.dev/api/caching#FunctionDeclaration,
	// https://ai.google.dev/gemini-api/docs/structured-output#json-schema).
	{"Gemini parametersJsonSchema", []portabilityRule{
		{"function name starts with a letter or underscore, then letters, digits, _ . : -, at most 64", nameMatches(geminiName),
			`{"name":"9lives","inputSchema":{"type":"object","properties":{}}}`},
		{"the schema describes an object whose properties are the function's parameters", objectRootWithProperties,
			`{"name":"x","inputSchema":{"type":"array","items":{"type":"string"}}}`},
		{"every type is a JSON Schema type name (a list only of those)", everyNode(func(n schemaNode) []string {
			var out []string
			for _, typ := range typeNames(n.schema["type"]) {
				if !slices.Contains(jsonTypes, typ) {
					out = append(out, fmt.Sprintf("%s: type %q", pathLabel(n.path), typ))
				}
			}
			return out
		}), `{"name":"x","inputSchema":{"type":"object","properties":{"n":{"type":"INTEGER"}}}}`},
	}},
}

// designRules are DESIGN.md's own rules, which every profile keeps.
var designRules = []portabilityRule{
	{"only the keywords DESIGN.md allows: " + strings.Join(designKeywords, ", "), everyNode(keywordsIn(designKeywords)),
		`{"name":"x","inputSchema":{"type":"object","properties":{"email":{"type":"string","format":"email"}}}}`},
	{"every name in required is a declared property", everyNode(requiredAreProperties),
		`{"name":"x","inputSchema":{"type":"object","properties":{"a":{"type":"string"}},"required":["b"]}}`},
	{"enum values have the schema's type", everyNode(enumMatchesType),
		`{"name":"x","inputSchema":{"type":"object","properties":{"n":{"type":"integer","enum":[1,2.5]}}}}`},
}

// meantFor is the profile each host needs; wantPasses is the whole matrix,
// the README's table ("Compatibility"): which hosts each profile passes.
var (
	meantFor = map[string]schema.Profile{
		"Claude":                      schema.ProfilePortable,
		"OpenAI":                      schema.ProfilePortable,
		"OpenAI strict":               schema.ProfileOpenAIStrict,
		"Gemini parameters":           schema.ProfileGemini,
		"Gemini parametersJsonSchema": schema.ProfilePortable,
	}
	wantPasses = map[schema.Profile][]string{
		schema.ProfilePortable:     {"Claude", "OpenAI", "Gemini parametersJsonSchema"},
		schema.ProfileOpenAIStrict: {"Claude", "OpenAI", "OpenAI strict", "Gemini parametersJsonSchema"},
		schema.ProfileGemini:       {"Claude", "OpenAI", "Gemini parameters", "Gemini parametersJsonSchema"},
	}
)

// sandboxTools is every tool a server over the default sandbox catalog
// serves, in direct and in catalog mode, plus a workflow with the default
// input schema, as tools/list encodes them in profile p.
func sandboxTools(t *testing.T, set *tools.Set, p schema.Profile) []wireTool {
	t.Helper()
	var all []mcp.Tool
	for _, st := range set.Tools() {
		all = append(all, st.Tool)
	}
	seen := map[string]bool{}
	var out []wireTool
	for _, mode := range []string{tools.ToolModeDirect, tools.ToolModeCatalog} {
		ctx := tools.WithSchemaProfile(tools.WithToolMode(context.Background(), mode), p)
		for _, tl := range set.Filter(ctx, slices.Clone(all)) {
			if seen[tl.Name] {
				continue
			}
			seen[tl.Name] = true
			b, err := json.Marshal(tl)
			if err != nil {
				t.Fatalf("%s does not encode: %v", tl.Name, err)
			}
			var w wireTool
			if err := json.Unmarshal(b, &w); err != nil {
				t.Fatal(err)
			}
			var raw struct {
				InputSchema json.RawMessage `json:"inputSchema"`
			}
			_ = json.Unmarshal(b, &raw)
			w.raw = raw.InputSchema
			out = append(out, w)
		}
	}
	if len(out) < 150 {
		t.Fatalf("only %d tools from the sandbox catalog; the check would prove little", len(out))
	}
	return out
}

func portabilitySet(t *testing.T) *tools.Set {
	t.Helper()
	var conns []tools.Connection
	for _, app := range pdtest.NewSandbox().Apps() {
		conns = append(conns, userConn(app, app))
	}
	return newHarness(t, tools.Options{Workflows: []tools.Workflow{{
		Name: "nightly_report", URL: "https://en0000000000001.m.pipedream.net",
		Description: "Builds the nightly report.", Auth: "none",
	}}}, conns...).set
}

// violations applies rules to every tool; it returns the problems, each
// prefixed with the tool's name and the rule.
func violations(all []wireTool, rules []portabilityRule) []string {
	var out []string
	for _, r := range rules {
		for _, tl := range all {
			for _, p := range r.check(tl) {
				out = append(out, fmt.Sprintf("%s: %s [%s]", tl.Name, p, r.rule))
			}
		}
	}
	return out
}

// TestSchemaPortability applies each host's rules to every tool under every
// profile: the profile meant for a host breaks none of its rules, every
// profile keeps DESIGN.md's rules, and the matrix is the README's.
func TestSchemaPortability(t *testing.T) {
	set := portabilitySet(t)
	var matrix strings.Builder
	fmt.Fprintf(&matrix, "%-14s", "profile")
	for _, h := range hosts {
		fmt.Fprintf(&matrix, " | %s", h.name)
	}
	matrix.WriteString("\n")
	for _, p := range schema.Profiles {
		all := sandboxTools(t, set, p)
		seen := map[string]bool{}
		for _, tl := range all {
			if seen[tl.Name] {
				t.Errorf("%s: tool name %s is served twice (hosts key tools by name)", p, tl.Name)
			}
			seen[tl.Name] = true
		}
		for _, v := range violations(all, designRules) {
			t.Errorf("%s: %s", p, v)
		}
		fmt.Fprintf(&matrix, "%-14s", p)
		var passes []string
		for _, h := range hosts {
			vs := violations(all, h.rules)
			if len(vs) == 0 {
				passes = append(passes, h.name)
				fmt.Fprintf(&matrix, " | %s", "pass")
			} else {
				fmt.Fprintf(&matrix, " | %d violations (%s)", len(vs), vs[0])
			}
			if meantFor[h.name] == p {
				for _, v := range vs {
					t.Errorf("%s, meant for %s: %s", p, h.name, v)
				}
			}
		}
		matrix.WriteString("\n")
		if !slices.Equal(passes, wantPasses[p]) {
			t.Errorf("%s passes %v, want %v: update wantPasses and the README's table", p, passes, wantPasses[p])
		}
	}
	t.Logf("tools in %d profiles against %d hosts:\n%s", len(schema.Profiles), len(hosts), matrix.String())
}

// TestPortabilityRulesCatch shows each rule flags a tool that breaks it, and
// passes a tool that breaks none.
func TestPortabilityRulesCatch(t *testing.T) {
	t.Parallel()
	goods := map[string]string{
		"portable": `{"name":"slack_send_message","description":"Sends a message.","inputSchema":{"type":"object","properties":{"text":{"type":"string","title":"Text","default":"hi"},"ids":{"type":"array","items":{"type":"integer","enum":[1,2],"minimum":1}}},"required":["text"],"additionalProperties":false}}`,
		"strict":   `{"name":"slack_send_message","description":"Sends a message.","inputSchema":{"type":"object","properties":{"text":{"type":"string","title":"Text"},"ids":{"type":["array","null"],"items":{"type":"integer","enum":[1,2],"minimum":1}}},"required":["text","ids"],"additionalProperties":false}}`,
		"gemini":   `{"name":"slack_send_message","description":"Sends a message.","inputSchema":{"type":"object","properties":{"text":{"type":"string","title":"Text","default":"hi","enum":["hi","ho"]},"ids":{"type":"array","items":{"type":"integer","minimum":1}}},"required":["text"]}}`,
	}
	goodFor := map[string]string{"Claude": "portable", "OpenAI": "portable", "OpenAI strict": "strict", "Gemini parameters": "gemini", "Gemini parametersJsonSchema": "portable"}
	check := func(name string, rules []portabilityRule, good string) {
		for _, r := range rules {
			if p := r.check(parseTool(t, good)); len(p) != 0 {
				t.Errorf("%s/%s flags a good tool: %v", name, r.rule, p)
			}
			if p := r.check(parseTool(t, r.bad)); len(p) == 0 {
				t.Errorf("%s/%s does not flag %s", name, r.rule, r.bad)
			}
		}
	}
	for _, h := range hosts {
		check(h.name, h.rules, goods[goodFor[h.name]])
	}
	check("DESIGN.md", designRules, goods["portable"])
}

func parseTool(t *testing.T, s string) wireTool {
	t.Helper()
	var w wireTool
	if err := json.Unmarshal([]byte(s), &w); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	var raw struct {
		InputSchema json.RawMessage `json:"inputSchema"`
	}
	_ = json.Unmarshal([]byte(s), &raw)
	w.raw = raw.InputSchema
	return w
}
