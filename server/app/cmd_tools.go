package app

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pipedream-mcp/pipedream-mcp/server/app/config"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

const toolsUsage = `Usage: pipedream-mcp tools [flags]

Lists the tools this configuration serves, exactly as an MCP client gets them
from tools/list: one table per connection with each tool's name, title, hints
(R read-only, D destructive), number of arguments and which fields need
pipedream_list_options or pipedream_describe; then the totals, the size of the
whole tools/list answer, and a warning when a connection has more tools than
common hosts take (Cursor 40, GitHub Copilot 128).

--json prints the tools/list result itself, {"tools": [...]}. With --connection
it is the list served at /mcp/<connection> (that connection's tools and the
helpers); --search keeps the tools whose name, title or description contain
the text.

Examples:
  pipedream-mcp tools --sandbox
  pipedream-mcp tools --sandbox --connection github
  pipedream-mcp tools --sandbox --search issue
  pipedream-mcp tools --sandbox --json | jq -r '.tools[].name'
  pipedream-mcp tools --config pipedream-mcp.yaml`

func cmdTools(env *cmdEnv, args []string) error {
	var asJSON bool
	var conn, search string
	cfg, fs, pos, err := parsePeople(env, "tools", toolsUsage, args, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print the tools/list result as JSON")
		fs.StringVar(&conn, "connection", "", "show one connection's tools (the list served at /mcp/<connection>)")
		fs.StringVar(&search, "search", "", "keep the tools whose name, title or description contain this text")
	})
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("tools takes no arguments, got %q (to filter, use --search TEXT)", strings.Join(pos, " "))
	}
	s, err := newSession(env, cfg, fs)
	if err != nil {
		return err
	}
	defer s.Close()
	if conn != "" && !s.rt.set.HasConnection(conn) {
		return usageErrorf("no connection named %q (connections: %s)", conn, configuredConnections(cfg))
	}
	loadErr := s.load()

	ctx := s.userContext(env.ctx)
	if conn != "" {
		ctx = tools.WithScope(ctx, conn)
	}
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	list, err := c.listTools(ctx)
	if err != nil {
		return err
	}

	if asJSON {
		if cfg.Sandbox {
			fmt.Fprintln(env.stderr, sandboxBanner)
		}
		if err := writeToolsJSON(env.stdout, list, search); err != nil {
			return err
		}
	} else {
		printToolsTable(env.stdout, newStyle(env.stdout, env.getenv), s, list, conn, search)
	}
	if loadErr != nil {
		return failf("some catalogs did not load, so their tools are missing:\n%s", indentLines(errorText(loadErr), "  "))
	}
	return nil
}

// writeToolsJSON prints the tools/list result, {"tools": [...]}, each tool
// exactly as the client received it (indented; no token changed). With a
// search, only the matching tools are kept.
func writeToolsJSON(w io.Writer, list *toolsList, search string) error {
	out := list.encode(func(t listedTool) bool { return matchesSearch(t, search) })
	var buf bytes.Buffer
	if err := json.Indent(&buf, out, "", "  "); err != nil {
		return fmt.Errorf("tools/list answer is not JSON: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

func matchesSearch(t listedTool, search string) bool {
	if search == "" {
		return true
	}
	q := strings.ToLower(search)
	for _, f := range []string{t.tool.Name, t.tool.Annotations.Title, t.tool.Title, t.tool.Description} {
		if strings.Contains(strings.ToLower(f), q) {
			return true
		}
	}
	return false
}

// catalogModeNote says why the actions are not listed as tools, and how to
// see them: the same command in direct mode.
func catalogModeNote(mode string) string {
	why := "Catalog mode"
	if mode == tools.ToolModeAuto {
		why = fmt.Sprintf("Catalog mode (auto: more than %d action tools)", tools.AutoToolLimit)
	}
	return why + ": hosts see the helper tools below, not one tool per action.\nAdd --tool-mode direct to list (and --search) every action tool, or --connection APP for one app's."
}

// toolGroup is one table of the tools command.
type toolGroup struct {
	rows  []listedTool
	infos []tools.ActionInfo
}

func (g *toolGroup) add(t listedTool, info tools.ActionInfo) {
	g.rows = append(g.rows, t)
	g.infos = append(g.infos, info)
}

// toolTables is the tool list sorted into the tables the tools command prints.
type toolTables struct {
	byConn              map[string]*toolGroup
	workflows, helpers  toolGroup
	actions, shown      int                 // actions in the list; tools matching the search
	actionKeys          map[string][]string // connection -> its action keys
	nHelpers, nWorkflow int
	catalog             bool // the list is catalog mode's
}

// groupTools sorts list into one table per connection, workflows and helpers,
// keeping the tools that match search.
func groupTools(s *session, list *toolsList, search string) *toolTables {
	tt := &toolTables{byConn: map[string]*toolGroup{}, actionKeys: map[string][]string{}}
	for _, t := range list.tools {
		info, isAction := s.rt.set.Action(t.tool.Name)
		helper := tools.IsHelper(t.tool.Name)
		tt.catalog = tt.catalog || t.tool.Name == tools.ToolSearchActions
		switch {
		case isAction:
			tt.actions++
			tt.actionKeys[info.Connection] = append(tt.actionKeys[info.Connection], info.Action)
		case helper:
			tt.nHelpers++
		default:
			tt.nWorkflow++
		}
		if !matchesSearch(t, search) {
			continue
		}
		tt.shown++
		switch {
		case isAction:
			g := tt.byConn[info.Connection]
			if g == nil {
				g = &toolGroup{}
				tt.byConn[info.Connection] = g
			}
			g.add(t, info)
		case helper:
			tt.helpers.add(t, tools.ActionInfo{})
		default:
			tt.workflows.add(t, tools.ActionInfo{})
		}
	}
	return tt
}

func printToolsTable(w io.Writer, st style, s *session, list *toolsList, onlyConn, search string) {
	if s.cfg.Sandbox {
		fmt.Fprintln(w, st.yellow(sandboxBanner))
		fmt.Fprintln(w)
	}
	status := map[string]tools.ConnectionStatus{}
	for _, cs := range s.rt.set.Status() {
		status[cs.Name] = cs
	}
	tt := groupTools(s, list, search)
	var warnings []string
	for _, c := range s.rt.conns {
		if onlyConn != "" && c.Name != onlyConn {
			continue
		}
		if tt.catalog {
			fmt.Fprintf(w, "%s: %s, found with %s and run with %s\n\n", st.bold(c.Name), plural(status[c.Name].Tools, "action", "actions"), tools.ToolSearchActions, tools.ToolRunAction)
			continue
		}
		if warn := printConnectionTable(w, st, c, status[c.Name], tt, search); warn != "" {
			warnings = append(warnings, warn)
		}
	}
	if tt.catalog {
		fmt.Fprintln(w, st.dim(catalogModeNote(s.cfg.ToolMode)))
		fmt.Fprintln(w)
	}
	if len(tt.workflows.rows) > 0 {
		fmt.Fprintln(w, st.bold(fmt.Sprintf("workflows: %s", plural(len(tt.workflows.rows), "tool", "tools"))))
		writeToolRows(w, &tt.workflows)
		fmt.Fprintln(w)
	}
	if len(tt.helpers.rows) > 0 {
		fmt.Fprintln(w, st.bold(fmt.Sprintf("helpers: %s (server-wide)", plural(len(tt.helpers.rows), "tool", "tools"))))
		writeToolRows(w, &tt.helpers)
		fmt.Fprintln(w)
	}
	warnings = append(warnings, printToolTotals(w, s, list, tt, onlyConn, search)...)
	if len(warnings) > 0 {
		fmt.Fprintln(w)
		for _, warn := range warnings {
			fmt.Fprintf(w, "%s %s\n", st.yellow("WARNING:"), warn)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, st.dim("R/D: R read-only, D destructive, - neither, ? no hints (hosts assume it may change or delete data)."))
	fmt.Fprintln(w, st.dim("FIELDS: options = values listed by pipedream_list_options, dynamic = more fields via pipedream_describe."))
}

// printConnectionTable prints one connection's heading, catalog problems and
// tools, and returns the warning about its tool count ("" when none).
func printConnectionTable(w io.Writer, st style, c tools.Connection, cs tools.ConnectionStatus, tt *toolTables, search string) string {
	g := tt.byConn[c.Name]
	n := 0
	if g != nil {
		n = len(g.rows)
	}
	var about []string
	if c.App != c.Name {
		about = append(about, "app "+c.App)
	}
	if c.Admin {
		about = append(about, fmt.Sprintf("runs as service identity %q", c.ServiceUser))
	}
	head := fmt.Sprintf("%s: %s", c.Name, plural(cs.Tools, "tool", "tools"))
	if search != "" {
		head = fmt.Sprintf("%s: %d of %s match %q", c.Name, n, plural(cs.Tools, "tool", "tools"), search)
	}
	if len(about) > 0 {
		head += " (" + strings.Join(about, ", ") + ")"
	}
	warning := ""
	if note := toolLimitNote(cs.Tools); note != "" {
		warning = fmt.Sprintf("%s exposes %d tools, %s. To serve fewer, %s.", c.Name, cs.Tools, note, narrowHint(c.Name, tt.actionKeys[c.Name]))
	}
	if search != "" && n == 0 && cs.Err == nil {
		return warning
	}
	fmt.Fprintln(w, st.bold(head))
	if cs.Err != nil {
		fmt.Fprintf(w, "  %s %s\n", st.red("catalog not loaded:"), errorText(cs.Err))
	}
	for _, warn := range cs.Warnings {
		fmt.Fprintf(w, "  %s %s\n", st.yellow("!"), warn)
	}
	if g != nil {
		writeToolRows(w, g)
	}
	fmt.Fprintln(w)
	return warning
}

// printToolTotals prints the totals and the list's size, and returns the
// warning about the whole list's tool count, if any.
func printToolTotals(w io.Writer, s *session, list *toolsList, tt *toolTables, onlyConn, search string) []string {
	total := len(list.tools)
	conns := len(s.rt.conns)
	scope := "tools/list"
	if onlyConn != "" {
		conns = 1
		scope = "tools/list at /mcp/" + onlyConn
	}
	fmt.Fprintf(w, "Total: %s (%s in %s, %s, %s)\n", plural(total, "tool", "tools"),
		plural(tt.actions, "action", "actions"), plural(conns, "connection", "connections"),
		plural(tt.nWorkflow, "workflow", "workflows"), plural(tt.nHelpers, "helper", "helpers"))
	if search != "" {
		fmt.Fprintf(w, "Shown: %d matching %q\n", tt.shown, search)
	}
	b := list.bytes()
	fmt.Fprintf(w, "Size: %s bytes of %s, about %s tokens (estimated as bytes / 4)\n", thousands(b), scope, thousands((b+3)/4))
	if onlyConn == "" && conns > 1 {
		if note := toolLimitNote(total); note != "" {
			return []string{fmt.Sprintf("the whole list has %d tools, %s. Serve fewer connections per client, or with --transport http point each client at /mcp/<connection>.", total, note)}
		}
	}
	return nil
}

func writeToolRows(w io.Writer, g *toolGroup) {
	tw := newTable(w)
	tw.row("  TOOL", "TITLE", "R/D", "ARGS", "FIELDS")
	for i, t := range g.rows {
		title := t.tool.Annotations.Title
		if title == "" {
			title = t.tool.Title
		}
		var fields []string
		if in := g.infos[i]; in.Action != "" {
			if len(in.RemoteOptions) > 0 {
				fields = append(fields, "options")
			}
			if in.Dynamic {
				fields = append(fields, "dynamic")
			}
		}
		tw.row("  "+t.tool.Name, cut(title, 44), hintMarks(t), fmt.Sprint(t.args), strings.Join(fields, ", "))
	}
	tw.flush()
}

// hintMarks is the R/D column: R read-only, D destructive, - neither, ? none
// given (MCP hosts then assume the tool may change and delete data).
func hintMarks(t listedTool) string {
	a := t.tool.Annotations
	switch {
	case a.ReadOnlyHint != nil && *a.ReadOnlyHint:
		return "R"
	case a.DestructiveHint != nil && *a.DestructiveHint:
		return "D"
	case a.ReadOnlyHint == nil && a.DestructiveHint == nil:
		return "?"
	}
	return "-"
}

// configuredConnections lists the configured connection names.
func configuredConnections(cfg *config.Config) string {
	names := make([]string, 0, len(cfg.Connections))
	for _, c := range cfg.Connections {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// indentLines prefixes every line of s.
func indentLines(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}
