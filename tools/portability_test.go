package tools_test

// Schema portability: every tool the sandbox catalog generates (each app's
// actions, the pipedream_* helpers, a workflow with the default input
// schema), checked against the rules the big LLM hosts apply to tool
// definitions before a model ever sees them. A host that rejects one tool
// usually rejects the whole request, so one bad tool breaks every tool.
//
// Rules that every generated tool must meet fail the test. OpenAI strict mode
// and Gemini's OpenAPI-subset `parameters` field need a host to adapt the
// schema (the MCP schema is plain JSON Schema); for those the test reports
// which tools need which adaptation, and fails only on a kind of problem that
// no documented adaptation covers. Run with -v to see the report.

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// wireTool is a tool as tools/list puts it on the wire.
type wireTool struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	InputSchema map[string]any `json:"inputSchema"`
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

// portabilityRule is one rule a host applies, with where it is documented.
// check returns one line per violation; bad is a tool (JSON) that breaks the
// rule, so the test can show the check catches it.
type portabilityRule struct {
	host, rule string
	check      func(t wireTool) []string
	bad        string
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
// JSON payload received. Unknown name ... Cannot find field."). It has no
// additionalProperties: that one is reported as an adaptation below.
var geminiSchemaFields = []string{"type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties", "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum"}

func objectRoot(t wireTool) []string {
	if t.InputSchema["type"] != "object" {
		return []string{fmt.Sprintf(`root "type" is %v, want "object"`, t.InputSchema["type"])}
	}
	return nil
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

// enumMatchesType: every enum value has the schema's declared type, so a host
// that checks enums against the type (or a model picking a value) never meets
// a contradiction.
func enumMatchesType(n schemaNode) []string {
	vals, ok := n.schema["enum"].([]any)
	if !ok {
		return nil
	}
	var out []string
	for _, v := range vals {
		if !hasType(v, n.schema["type"]) {
			out = append(out, fmt.Sprintf("%s: enum value %v is not of type %v", pathLabel(n.path), v, n.schema["type"]))
		}
	}
	return out
}

func hasType(v any, typ any) bool {
	switch typ {
	case "string":
		_, ok := v.(string)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	case "number":
		_, ok := v.(float64)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	}
	return true // untyped or structured: nothing to contradict
}

var portabilityRules = []portabilityRule{
	// Claude (Anthropic Messages API, tools[]: name, description, input_schema;
	// https://docs.anthropic.com/en/docs/agents-and-tools/tool-use).
	{"Claude", "tool name matches ^[a-zA-Z0-9_-]{1,64}$", nameMatches(claudeOpenAIName),
		`{"name":"slack.send message","inputSchema":{"type":"object","properties":{}}}`},
	{"Claude", `input_schema is a JSON Schema with "type": "object" at the root (Claude Code drops tools without it)`, objectRoot,
		`{"name":"x","inputSchema":{"properties":{}}}`},
	{"Claude", "input_schema has no oneOf, anyOf or allOf at the top level", func(t wireTool) []string {
		return topLevel(t, "oneOf", "anyOf", "allOf")
	}, `{"name":"x","inputSchema":{"type":"object","properties":{},"anyOf":[{"required":["a"]},{"required":["b"]}]}}`},

	// OpenAI function calling, non-strict (tools[].function: name,
	// description, parameters; https://platform.openai.com/docs/guides/function-calling).
	{"OpenAI", "function name matches ^[a-zA-Z0-9_-]{1,64}$", nameMatches(claudeOpenAIName),
		`{"name":"` + strings.Repeat("a", 65) + `","inputSchema":{"type":"object","properties":{}}}`},
	{"OpenAI", `parameters is "type": "object" with a "properties" map (OpenAI and Copilot reject object schemas without properties)`, func(t wireTool) []string {
		out := objectRoot(t)
		if _, ok := t.InputSchema["properties"].(map[string]any); !ok {
			out = append(out, `no "properties" map at the root`)
		}
		return out
	}, `{"name":"x","inputSchema":{"type":"object"}}`},
	{"OpenAI", "parameters has no oneOf, anyOf, allOf, enum or not at the top level", func(t wireTool) []string {
		return topLevel(t, "oneOf", "anyOf", "allOf", "enum", "not")
	}, `{"name":"x","inputSchema":{"type":"object","properties":{},"not":{"required":["a"]}}}`},
	{"OpenAI", "function description is at most 1024 characters (400 string_above_max_length)", func(t wireTool) []string {
		if n := utf8.RuneCountInString(t.Description); n > 1024 {
			return []string{fmt.Sprintf("description is %d characters", n)}
		}
		return nil
	}, `{"name":"x","description":"` + strings.Repeat("é", 1025) + `","inputSchema":{"type":"object","properties":{}}}`},
	{"OpenAI", `every "type": "array" schema has "items" (400 "array schema missing items")`, everyNode(func(n schemaNode) []string {
		if n.schema["type"] == "array" && n.schema["items"] == nil {
			return []string{pathLabel(n.path) + ": array without items"}
		}
		return nil
	}), `{"name":"x","inputSchema":{"type":"object","properties":{"o":{"type":"object","properties":{"ids":{"type":"array"}}}}}}`},

	// Gemini (FunctionDeclaration: name, description, parameters or
	// parametersJsonSchema; https://ai.google.dev/api/caching#FunctionDeclaration
	// and #Schema).
	{"Gemini", "function name starts with a letter or underscore, then letters, digits, _ . : -, at most 64", nameMatches(geminiName),
		`{"name":"1password_get_item","inputSchema":{"type":"object","properties":{}}}`},
	{"Gemini", "parameters describes an object whose properties are the function's parameters", func(t wireTool) []string {
		out := objectRoot(t)
		if _, ok := t.InputSchema["properties"].(map[string]any); !ok {
			out = append(out, `no "properties" map at the root`)
		}
		return out
	}, `{"name":"x","inputSchema":{"type":"object","additionalProperties":true}}`},
	{"Gemini", "every keyword is a field of Gemini's Schema (OpenAPI 3.0 subset) or additionalProperties, which hosts strip", everyNode(keywordsIn(append(slices.Clone(geminiSchemaFields), "additionalProperties"))),
		`{"name":"x","inputSchema":{"type":"object","properties":{"mode":{"type":"string","const":"fast"}}}}`},
	{"Gemini", `"type" is one string, never a list ("Proto field is not repeating")`, everyNode(func(n schemaNode) []string {
		if _, ok := n.schema["type"].([]any); ok {
			return []string{pathLabel(n.path) + ": type is a list"}
		}
		return nil
	}), `{"name":"x","inputSchema":{"type":"object","properties":{"n":{"type":["integer","null"]}}}}`},

	// Every host: DESIGN.md's own rules, which keep the schemas inside what
	// all of the above accept.
	{"All", "only the keywords DESIGN.md allows: " + strings.Join(designKeywords, ", "), everyNode(keywordsIn(designKeywords)),
		`{"name":"x","inputSchema":{"type":"object","properties":{"email":{"type":"string","format":"email"}}}}`},
	{"All", "every name in required is a declared property", everyNode(func(n schemaNode) []string {
		req, _ := n.schema["required"].([]any)
		props, _ := n.schema["properties"].(map[string]any)
		var out []string
		for _, r := range req {
			if _, ok := props[fmt.Sprint(r)]; !ok {
				out = append(out, fmt.Sprintf("%s: required %v is not a property", pathLabel(n.path), r))
			}
		}
		return out
	}), `{"name":"x","inputSchema":{"type":"object","properties":{"a":{"type":"string"}},"required":["b"]}}`},
	{"All", "enum values have the schema's type", everyNode(enumMatchesType),
		`{"name":"x","inputSchema":{"type":"object","properties":{"n":{"type":"integer","enum":[1,2.5]}}}}`},
}

// sandboxTools is every tool a server over the whole sandbox catalog serves,
// plus a workflow with the default input schema, as tools/list encodes them.
func sandboxTools(t *testing.T) []wireTool {
	t.Helper()
	var conns []tools.Connection
	for _, app := range pdtest.NewSandbox().Apps() {
		conns = append(conns, userConn(app, app))
	}
	h := newHarness(t, tools.Options{Workflows: []tools.Workflow{{
		Name: "nightly_report", URL: "https://en0000000000001.m.pipedream.net",
		Description: "Builds the nightly report.", Auth: "none",
	}}}, conns...)
	var out []wireTool
	for _, st := range h.set.Tools() {
		b, err := json.Marshal(st.Tool)
		if err != nil {
			t.Fatalf("%s does not encode: %v", st.Tool.Name, err)
		}
		var w wireTool
		if err := json.Unmarshal(b, &w); err != nil {
			t.Fatal(err)
		}
		out = append(out, w)
	}
	if len(out) < 150 {
		t.Fatalf("only %d tools from the sandbox catalog; the check would prove little", len(out))
	}
	return out
}

// TestSchemaPortability applies each host's rules to every generated tool.
func TestSchemaPortability(t *testing.T) {
	all := sandboxTools(t)
	seen := map[string]bool{}
	for _, tl := range all {
		if seen[tl.Name] {
			t.Errorf("tool name %s is served twice (hosts key tools by name)", tl.Name)
		}
		seen[tl.Name] = true
	}
	for _, r := range portabilityRules {
		t.Run(r.host+"/"+r.rule, func(t *testing.T) {
			t.Parallel()
			for _, tl := range all {
				for _, p := range r.check(tl) {
					t.Errorf("%s: %s", tl.Name, p)
				}
			}
		})
	}
}

// TestPortabilityRulesCatch shows each rule flags a tool that breaks it, and
// passes a tool that breaks none.
func TestPortabilityRulesCatch(t *testing.T) {
	t.Parallel()
	good := parseTool(t, `{"name":"slack_send_message","description":"Sends a message.","inputSchema":{"type":"object","properties":{"text":{"type":"string","title":"Text","default":"hi"},"ids":{"type":"array","items":{"type":"integer","enum":[1,2],"minimum":1}}},"required":["text"],"additionalProperties":false}}`)
	for _, r := range portabilityRules {
		if p := r.check(good); len(p) != 0 {
			t.Errorf("%s/%s flags a good tool: %v", r.host, r.rule, p)
		}
		if p := r.check(parseTool(t, r.bad)); len(p) == 0 {
			t.Errorf("%s/%s does not flag %s", r.host, r.rule, r.bad)
		}
	}
}

func parseTool(t *testing.T, s string) wireTool {
	t.Helper()
	var w wireTool
	if err := json.Unmarshal([]byte(s), &w); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return w
}

// adaptation is one change a host must make to a schema before sending it.
type adaptation struct {
	name, why string
	// find reports whether one schema object needs it.
	find func(n schemaNode) bool
}

// strictAdaptations are what OpenAI strict mode (Structured Outputs,
// "strict": true; https://platform.openai.com/docs/guides/structured-outputs#supported-schemas)
// requires of every schema object. mechanical says whether a host can make
// the change without changing what the tool accepts.
var strictAdaptations = []struct {
	adaptation
	mechanical bool
}{
	{adaptation{"optional properties", `every property must be listed in "required": optional ones become required with a nullable type`, func(n schemaNode) bool {
		props, _ := n.schema["properties"].(map[string]any)
		req, _ := n.schema["required"].([]any)
		return len(req) < len(props)
	}}, true},
	{adaptation{"default", `"default" is not permitted (Azure OpenAI and older snapshots: 400 "'default' is not permitted"): drop it`, func(n schemaNode) bool {
		_, ok := n.schema["default"]
		return ok
	}}, true},
	{adaptation{"open object", `every object must have "additionalProperties": false; these take fields not known in advance (reloadProps forms, free-form objects)`, func(n schemaNode) bool {
		return n.schema["type"] == "object" && n.schema["additionalProperties"] != false
	}}, false},
	{adaptation{"untyped value", `every schema needs a "type"; these accept any JSON value (prop type "any")`, func(n schemaNode) bool {
		_, typed := n.schema["type"]
		_, union := n.schema["anyOf"]
		return !typed && !union
	}}, false},
}

// strictKeywords are the keywords strict mode accepts.
var strictKeywords = []string{"type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf", "$ref", "$defs", "description", "title", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems", "maxItems", "default"}

// geminiAdaptations are what Gemini's `parameters` field (the OpenAPI 3.0
// subset) needs; hosts that send MCP schemas as parametersJsonSchema (plain
// JSON Schema, object root) need none of them.
var geminiAdaptations = []adaptation{
	{"additionalProperties", "not a field of Gemini's Schema: strip it", func(n schemaNode) bool {
		_, ok := n.schema["additionalProperties"]
		return ok
	}},
	{"non-string enum", `Schema.enum is a list of strings ("Possible values of the element of Type.STRING"): send the values as strings with type STRING`, func(n schemaNode) bool {
		vals, _ := n.schema["enum"].([]any)
		for _, v := range vals {
			if _, ok := v.(string); !ok {
				return true
			}
		}
		return false
	}},
	{"untyped value", "a property without type: give it one (e.g. STRING holding JSON) or omit it", func(n schemaNode) bool {
		_, typed := n.schema["type"]
		_, union := n.schema["anyOf"]
		return !typed && !union && n.path != ""
	}},
}

// adaptationSites returns, per tool, the schema paths that need a.
func adaptationSites(all []wireTool, a adaptation) map[string][]string {
	out := map[string][]string{}
	for _, tl := range all {
		for _, n := range schemaNodes(tl.InputSchema) {
			if a.find(n) {
				out[tl.Name] = append(out[tl.Name], pathLabel(n.path))
			}
		}
	}
	return out
}

// nestingDepth is how many schema levels below the root a path is.
func nestingDepth(path string) int {
	return strings.Count(path, ".") + strings.Count(path, "[]") + strings.Count(path, "{}")
}

func summarize(m map[string][]string, limit int) string {
	names := slices.Sorted(maps.Keys(m))
	var parts []string
	for i, n := range names {
		if i == limit {
			parts = append(parts, fmt.Sprintf("... %d more", len(names)-limit))
			break
		}
		parts = append(parts, n+" ("+strings.Join(m[n], ", ")+")")
	}
	return strings.Join(parts, "; ")
}

// TestPortabilityAdaptations reports which tools OpenAI strict mode and
// Gemini's OpenAPI-subset `parameters` field would need adapted, and how (run
// with -v). It fails when a tool breaks a strict-mode rule that no adaptation
// covers: a keyword strict mode does not accept, or a schema over its size
// limits.
func TestPortabilityAdaptations(t *testing.T) {
	all := sandboxTools(t)
	for _, tl := range all {
		for _, p := range everyNode(keywordsIn(strictKeywords))(tl) {
			t.Errorf("%s: %s is not accepted by OpenAI strict mode, and no adaptation covers it", tl.Name, p)
		}
		props, depth := 0, 0
		for _, n := range schemaNodes(tl.InputSchema) {
			if p, ok := n.schema["properties"].(map[string]any); ok {
				props += len(p)
			}
			depth = max(depth, nestingDepth(n.path))
		}
		// Strict mode's size limits: at most 5000 object properties in all and
		// 10 levels of nesting.
		if props > 5000 || depth > 10 {
			t.Errorf("%s: %d properties, nesting depth %d: over OpenAI strict mode's limits (5000, 10)", tl.Name, props, depth)
		}
	}

	needs := map[string]bool{}   // tools needing any strict-mode adaptation
	blocked := map[string]bool{} // tools that cannot be strict without changing what they accept
	for _, a := range strictAdaptations {
		w := adaptationSites(all, a.adaptation)
		for n := range w {
			needs[n] = true
			if !a.mechanical {
				blocked[n] = true
			}
		}
		t.Logf("OpenAI strict, %s: %d of %d tools. %s. %s", a.name, len(w), len(all), a.why, summarize(w, 12))
	}
	t.Logf("OpenAI strict: %d of %d tools need adapting; %d can only be served non-strict: %s",
		len(needs), len(all), len(blocked), strings.Join(slices.Sorted(maps.Keys(blocked)), ", "))

	for _, a := range geminiAdaptations {
		w := adaptationSites(all, a)
		t.Logf("Gemini parameters, %s: %d of %d tools. %s. %s", a.name, len(w), len(all), a.why, summarize(w, 12))
	}
}
