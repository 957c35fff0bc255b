package app

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

const callUsage = `Usage: pipedream-mcp call [flags] TOOL ['JSON' | -]

Runs one tool exactly as an MCP client's tools/call would, as the configured end
user (--external-user-id, PIPEDREAM_EXTERNAL_USER_ID; demo-user with --sandbox),
and prints the result's text (the summary first), then its structured JSON.
The arguments are a JSON object: given after the tool name, read from standard
input with -, or from a file with --args-file; none means {}. With --json it
prints exactly the tools/call result object instead. In catalog mode (the
sandbox's default with every app) an action is called by the name direct mode
gives it, through pipedream_run_action.

Exit status: 0 when the result is a success, 1 when it is an error result
(isError: invalid arguments, no connected account, the action failed, ...),
2 for a tool that does not exist or arguments that are not a JSON object.

Examples:
  pipedream-mcp call --sandbox slack_list_channels
  pipedream-mcp call --sandbox slack_send_message_to_channel '{"conversation": "C1SANDBOX", "text": "Hello"}'
  echo '{"tool": "slack_send_message_to_channel", "prop": "conversation"}' | pipedream-mcp call --sandbox pipedream_list_options -
  pipedream-mcp call --sandbox notion_search '{"query": "Roadmap"}'   # no notion account: prints a Connect Link, exit 1
  pipedream-mcp call --app github --external-user-id user-123 github_get_repository --args-file args.json`

func cmdCall(env *cmdEnv, args []string) error {
	var argsFile string
	var asJSON bool
	cfg, fs, pos, err := parsePeople(env, "call", callUsage, args, func(fs *flag.FlagSet) {
		fs.StringVar(&argsFile, "args-file", "", "read the arguments (a JSON object) from this file; - for standard input")
		fs.BoolVar(&asJSON, "json", false, "print exactly the tools/call result object (JSON), for scripts: call --json ... | jq .structuredContent.status")
	})
	if err != nil {
		return err
	}
	name, arguments, err := callArguments(env, pos, argsFile)
	if err != nil {
		return err
	}

	s, err := newSession(env, cfg, fs)
	if err != nil {
		return err
	}
	defer s.Close()
	if cfg.Sandbox {
		fmt.Fprintln(env.stderr, sandboxBanner)
	}
	if err := s.rt.checkCredentials(env.ctx); err != nil {
		return err
	}
	loadErr := s.load()

	ctx := s.userContext(env.ctx)
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	list, err := c.listTools(ctx)
	if err != nil {
		return err
	}
	var names []string
	found := false
	for _, t := range list.tools {
		names = append(names, t.tool.Name)
		found = found || t.tool.Name == name
	}
	// In catalog mode actions are not listed; they run through
	// pipedream_run_action under the names direct mode gives them.
	_, viaCatalog := s.rt.set.Action(name)
	viaCatalog = viaCatalog && !found
	if !found && !viaCatalog {
		names = append(names, s.rt.set.ActionNames()...)
		if loadErr != nil {
			return failf("tool %q is not served, and some catalogs did not load (it may be one of theirs):\n%s", name, indentLines(errorText(loadErr), "  "))
		}
		msg := fmt.Sprintf("no tool named %q", name)
		if near := similarNames(name, names, 5); len(near) > 0 {
			msg += "; did you mean " + strings.Join(near, ", ") + "?"
		}
		return usageErrorf("%s (run \"pipedream-mcp tools\" to list them)", msg)
	}

	if cfg.ExternalUserID == "" && !s.runsAsServiceIdentity(name) {
		return usageErrorf("%s runs as the end user, and none is set: pass --external-user-id or set PIPEDREAM_EXTERNAL_USER_ID", name)
	}

	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = arguments
	if viaCatalog {
		req.Params.Name = tools.ToolRunAction
		req.Params.Arguments = map[string]any{"tool": name, "arguments": arguments}
	}
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return failf("tools/call %s: %v", name, err)
	}
	if asJSON {
		b, err := json.Marshal(res)
		if err != nil {
			return failf("encode the result: %v", err)
		}
		fmt.Fprintln(env.stdout, string(b))
	} else if err := printCallResult(env.stdout, res); err != nil {
		return err
	}
	if res.IsError {
		status := resultStatus(res)
		if status == "" {
			status = "error"
		}
		return failf("%s returned an error result (status %s)", name, status)
	}
	return nil
}

// callArguments reads the tool name and its arguments: the JSON after the name,
// standard input ("-"), or --args-file. The arguments must be a JSON object.
func callArguments(env *cmdEnv, pos []string, argsFile string) (string, json.RawMessage, error) {
	if len(pos) == 0 {
		return "", nil, usageErrorf("call needs a tool name: pipedream-mcp call TOOL ['JSON' | -] (run \"pipedream-mcp tools\" to list them)")
	}
	if len(pos) > 2 {
		return "", nil, usageErrorf("call takes a tool name and one JSON argument, got %d arguments (quote the JSON: '{\"a\": 1}')", len(pos))
	}
	name := pos[0]
	var src, text string
	switch {
	case len(pos) == 2 && argsFile != "":
		return "", nil, usageErrorf("give the arguments either after the tool name or with --args-file, not both")
	case len(pos) == 2 && pos[1] == "-", argsFile == "-":
		b, err := io.ReadAll(env.stdin)
		if err != nil {
			return "", nil, usageErrorf("read the arguments from standard input: %v", err)
		}
		src, text = "standard input", string(b)
	case len(pos) == 2:
		src, text = "the command line", pos[1]
	case argsFile != "":
		b, err := os.ReadFile(argsFile)
		if err != nil {
			return "", nil, usageErrorf("read --args-file: %v", err)
		}
		src, text = argsFile, string(b)
	default:
		return name, json.RawMessage(`{}`), nil
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return name, json.RawMessage(`{}`), nil
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() {
		why := "it is not a JSON object"
		if err != nil {
			why = err.Error()
		}
		return "", nil, usageErrorf("the arguments from %s must be one JSON object such as '{\"text\": \"hi\"}': %s", src, why)
	}
	return name, json.RawMessage(text), nil
}

// printCallResult prints the text contents (the summary leads), then the
// structured result as indented JSON.
func printCallResult(w io.Writer, res *mcp.CallToolResult) error {
	for _, c := range res.Content {
		switch c := c.(type) {
		case mcp.TextContent:
			fmt.Fprintln(w, strings.TrimRight(c.Text, "\n"))
		case *mcp.TextContent:
			fmt.Fprintln(w, strings.TrimRight(c.Text, "\n"))
		default:
			b, _ := json.Marshal(c)
			fmt.Fprintln(w, string(b))
		}
	}
	raw := structuredJSON(res)
	if len(raw) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		buf.Reset()
		buf.Write(raw)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, string(unescapeHTML(buf.Bytes())))
	return nil
}

// unescapeHTML turns the \u0026, \u003c and \u003e escapes that Go's JSON
// encoder writes back into &, < and >, so that URLs read as URLs. The JSON
// value is unchanged.
func unescapeHTML(b []byte) []byte {
	out := make([]byte, 0, len(b))
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case !inString:
			inString = c == '"'
		case c == '"':
			inString = false
		case c == '\\' && i+1 < len(b):
			if i+5 < len(b) && b[i+1] == 'u' && b[i+2] == '0' && b[i+3] == '0' {
				switch string(b[i+4 : i+6]) {
				case "26":
					out = append(out, '&')
					i += 5
					continue
				case "3c":
					out = append(out, '<')
					i += 5
					continue
				case "3e":
					out = append(out, '>')
					i += 5
					continue
				}
			}
			out = append(out, c, b[i+1])
			i++
			continue
		}
		out = append(out, c)
	}
	return out
}

// structuredJSON is the result's structuredContent as received.
func structuredJSON(res *mcp.CallToolResult) json.RawMessage {
	if len(res.RawStructuredContent) > 0 && string(res.RawStructuredContent) != "null" {
		return res.RawStructuredContent
	}
	if res.StructuredContent == nil {
		return nil
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return nil
	}
	return b
}

// resultStatus is the status field of the structured result, if any.
func resultStatus(res *mcp.CallToolResult) string {
	var r struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal(structuredJSON(res), &r)
	return r.Status
}

// similarNames returns up to n names close to name: those sharing a part of
// it, then the nearest by edit distance.
func similarNames(name string, names []string, n int) []string {
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	lname := strings.ToLower(name)
	for _, o := range names {
		lo := strings.ToLower(o)
		d := editDistance(lname, lo)
		if strings.Contains(lo, lname) || strings.Contains(lname, lo) {
			d = 0
		}
		if d <= max(2, len(name)/3) {
			cs = append(cs, cand{o, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].d != cs[j].d {
			return cs[i].d < cs[j].d
		}
		return cs[i].name < cs[j].name
	})
	var out []string
	for i := 0; i < len(cs) && i < n; i++ {
		out = append(out, cs[i].name)
	}
	return out
}

// editDistance is the Levenshtein distance of a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// runsAsServiceIdentity reports whether name is an action tool of an admin
// connection, which needs no end user.
func (s *session) runsAsServiceIdentity(name string) bool {
	info, ok := s.rt.set.Action(name)
	if !ok {
		return false
	}
	for _, c := range s.rt.conns {
		if c.Name == info.Connection {
			return c.Admin
		}
	}
	return false
}
