// This file holds what the commands for people (tools, call, apps, accounts,
// doctor) share: flags mixed with positional arguments, a quieter logger, colour
// decisions, the catalog progress indicator, and a session that runs the real
// MCP server in process, so that what these commands show is exactly what an
// MCP client would get.

package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mattn/go-isatty"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/schema"
	"github.com/pipedream-mcp/pipedream-mcp/server"
	"github.com/pipedream-mcp/pipedream-mcp/server/app/config"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// registerPeopleCommands adds the commands for people (tools, call, apps,
// accounts, doctor).
func registerPeopleCommands(m map[string]command) {
	m["tools"] = command{"list the tools this configuration serves", cmdTools}
	m["call"] = command{"run one tool as the configured end user", cmdCall}
	m["apps"] = command{"search Pipedream's app catalog for app slugs", cmdApps}
	m["accounts"] = command{"list connected accounts and print Connect Links", cmdAccounts}
	m["doctor"] = command{"check credentials, project, apps, catalog and accounts", cmdDoctor}
}

// Hosts that cap the number of tools they take from all servers together.
const (
	cursorToolLimit  = 40
	copilotToolLimit = 128
)

// sandboxBanner labels every command's output in sandbox mode.
const sandboxBanner = "SANDBOX: a simulated Pipedream Connect API with demo users and accounts; nothing reaches Pipedream."

// parsePeople parses a command line in which flags and positional arguments
// may be mixed (`call --sandbox slack_list_channels '{}'` and `call
// slack_list_channels '{}' --sandbox` mean the same), then resolves the
// configuration like every other command. It returns the positional
// arguments.
func parsePeople(env *cmdEnv, name, usage string, args []string, extra func(fs *flag.FlagSet)) (*config.Config, *flag.FlagSet, []string, error) {
	flags, pos := splitArgs(args, extra)
	cfg, fs, err := parseCommon(env, name, usage, flags, extra)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, fs, pos, nil
}

// splitArgs separates flags (with their values) from positional arguments. A
// lone "-" is positional (stdin); "--" ends the flags.
func splitArgs(args []string, extra func(fs *flag.FlagSet)) (flags, pos []string) {
	probe := flag.NewFlagSet("probe", flag.ContinueOnError)
	config.RegisterFlags(probe)
	if extra != nil {
		extra(probe)
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return flags, append(pos, args[i+1:]...)
		case len(a) < 2 || a[0] != '-':
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := probe.Lookup(name)
		if f == nil {
			continue // flag.Parse reports it
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return flags, pos
}

// peopleLogger is the logger of the commands for people. They report problems
// in their own output, so unless --log-level was given they log errors only.
func peopleLogger(env *cmdEnv, cfg *config.Config, fs *flag.FlagSet) *slog.Logger {
	c := *cfg
	given := false
	if fs != nil {
		fs.Visit(func(f *flag.Flag) { given = given || f.Name == "log-level" })
	}
	if !given {
		c.LogLevel = slog.LevelError
	}
	return newLogger(&c, env.stderr, env.getenv)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// style colours text for a terminal; it is plain for pipes, files, NO_COLOR
// and TERM=dumb.
type style struct{ color bool }

func newStyle(w io.Writer, getenv func(string) string) style {
	return style{color: isTerminal(w) && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"}
}

func (s style) paint(code, text string) string {
	if !s.color || text == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

func (s style) bold(t string) string   { return s.paint("1", t) }
func (s style) dim(t string) string    { return s.paint("2", t) }
func (s style) green(t string) string  { return s.paint("32", t) }
func (s style) yellow(t string) string { return s.paint("33", t) }
func (s style) red(t string) string    { return s.paint("31", t) }

// progressDelay is how long a catalog load runs before the indicator shows.
const progressDelay = time.Second

// startProgress shows msg with a spinner on w once delay has passed, when
// enabled (w is a terminal). The returned function stops it and erases the
// line; it must be called exactly once.
func startProgress(w io.Writer, enabled bool, delay time.Duration, msg string) (stop func()) {
	if !enabled {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		start := time.Now()
		wait := time.NewTimer(delay)
		defer wait.Stop()
		select {
		case <-done:
			return
		case <-wait.C:
		}
		frames := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(w, "\r%c %s (%ds)", frames[i%len(frames)], msg, int(time.Since(start).Seconds()))
			select {
			case <-done:
				fmt.Fprint(w, "\r\x1b[K")
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// session is a runtime for one command for people: the clients, the tool set
// and, once the catalogs are loaded, the MCP server.
type session struct {
	env *cmdEnv
	cfg *config.Config
	log *slog.Logger
	rt  *backend
	srv *server.Server
}

// newSession builds the clients and the tool set; nothing is fetched yet.
func newSession(env *cmdEnv, cfg *config.Config, fs *flag.FlagSet) (*session, error) {
	log := peopleLogger(env, cfg, fs)
	rt, err := newRuntime(cfg, log, nil)
	if err != nil {
		return nil, err
	}
	return &session{env: env, cfg: cfg, log: log, rt: rt}, nil
}

func (s *session) Close() { s.rt.Close() }

// load fetches every connection's catalog, with a progress indicator on a
// terminal. Connections that loaded serve even when others failed.
func (s *session) load() error {
	n := len(s.rt.conns)
	if n == 0 {
		return nil
	}
	what := "the action catalog"
	if n > 1 {
		what = fmt.Sprintf("the action catalogs of %d apps", n)
	}
	stop := startProgress(s.env.stderr, isTerminal(s.env.stderr), progressDelay, "Loading "+what)
	err := s.rt.set.Load(s.env.ctx)
	stop()
	return err
}

// server returns the MCP server over the loaded tool set.
func (s *session) server() *server.Server {
	if s.srv == nil {
		s.srv = server.New(s.rt.set, server.Options{
			Name: "pipedream-mcp", Version: version, Logger: s.log,
			Instructions: serverInstructions,
			// load already waited for the catalogs; a failed one is not
			// worth waiting for again.
			ListWait: time.Millisecond,
		})
	}
	return s.srv
}

// userContext is ctx as a stdio session of the configured end user sees it.
func (s *session) userContext(ctx context.Context) context.Context {
	return stdioUser(s.cfg.ExternalUserID, false)(ctx)
}

// mcpClient is an MCP client connected in process to the session's server.
// Its transport keeps the raw tools/list answers, so `tools --json` prints
// the bytes a client receives rather than a re-encoding of them.
type mcpClient struct {
	*client.Client
	rec *listRecorder
}

// listRecorder is the in-process transport, keeping every tools/list result.
type listRecorder struct {
	transport.Interface
	mu    sync.Mutex
	pages []json.RawMessage
}

// SendRequest forwards the request and records a tools/list result.
func (r *listRecorder) SendRequest(ctx context.Context, req transport.JSONRPCRequest) (*transport.JSONRPCResponse, error) {
	resp, err := r.Interface.SendRequest(ctx, req)
	if err == nil && resp != nil && resp.Error == nil && req.Method == string(mcp.MethodToolsList) {
		r.mu.Lock()
		r.pages = append(r.pages, slices.Clone(resp.Result))
		r.mu.Unlock()
	}
	return resp, err
}

func (r *listRecorder) takePages() []json.RawMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.pages
	r.pages = nil
	return p
}

// connect starts an in-process MCP client on the session's server and
// initializes it, as any MCP client would.
func (s *session) connect(ctx context.Context) (*mcpClient, error) {
	rec := &listRecorder{Interface: transport.NewInProcessTransport(s.server().MCP())}
	c := client.NewClient(rec)
	if err := c.Start(ctx); err != nil {
		return nil, fmt.Errorf("start the in-process MCP client: %w", err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "pipedream-mcp-cli", Version: version}
	if _, err := c.Initialize(ctx, init); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("initialize the in-process MCP client: %w", err)
	}
	return &mcpClient{Client: c, rec: rec}, nil
}

// listedTool is one tool of a tools/list answer: its JSON as received, and the
// fields the tables show.
type listedTool struct {
	raw  json.RawMessage
	tool mcp.Tool
	args int // input schema properties, reserved arguments excluded
}

// toolsList is a tools/list answer as a client received it, every page.
type toolsList struct {
	tools []listedTool
}

// encode returns {"tools": [...]} with every tool kept by keep (nil: all),
// each as received. The protocol's envelope fields of newer MCP versions
// (_meta, ttlMs, ...) are left out: they are not tool definitions and never
// reach the model.
func (l *toolsList) encode(keep func(listedTool) bool) []byte {
	var b bytes.Buffer
	b.WriteString(`{"tools":[`)
	first := true
	for _, t := range l.tools {
		if keep != nil && !keep(t) {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		_ = json.Compact(&b, t.raw)
	}
	b.WriteString("]}")
	return b.Bytes()
}

// bytes is the size of the tool definitions a client receives, as compact
// JSON: {"tools": [...]}.
func (l *toolsList) bytes() int {
	return len(l.encode(nil))
}

// listTools runs tools/list (every page) and keeps the raw answer.
func (c *mcpClient) listTools(ctx context.Context) (*toolsList, error) {
	c.rec.takePages()
	if _, err := c.ListTools(ctx, mcp.ListToolsRequest{}); err != nil {
		return nil, fmt.Errorf("tools/list: %w", err)
	}
	out := &toolsList{}
	for _, p := range c.rec.takePages() {
		var page struct {
			Tools []json.RawMessage `json:"tools"`
		}
		if err := json.Unmarshal(p, &page); err != nil {
			return nil, fmt.Errorf("tools/list: decode the answer: %w", err)
		}
		for _, raw := range page.Tools {
			lt, err := decodeListedTool(raw)
			if err != nil {
				return nil, err
			}
			out.tools = append(out.tools, lt)
		}
	}
	return out, nil
}

func decodeListedTool(raw json.RawMessage) (listedTool, error) {
	lt := listedTool{raw: raw}
	if err := json.Unmarshal(raw, &lt.tool); err != nil {
		return lt, fmt.Errorf("tools/list: decode a tool: %w", err)
	}
	var shape struct {
		InputSchema struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"inputSchema"`
	}
	if err := json.Unmarshal(raw, &shape); err != nil {
		return lt, fmt.Errorf("tools/list: decode the input schema of %s: %w", lt.tool.Name, err)
	}
	for name := range shape.InputSchema.Properties {
		if !schema.IsReservedArg(name) {
			lt.args++
		}
	}
	return lt, nil
}

// connectionClient is the Connect client of a connection; every connection of
// a runtime has a *pdclient.Client.
func connectionClient(c tools.Connection) *pdclient.Client {
	cl, _ := c.Client.(*pdclient.Client)
	return cl
}

// endUserOf is the external user a connection's calls run as from the command
// line: the service identity of an admin connection, else the configured user.
func endUserOf(cfg *config.Config, c tools.Connection) string {
	if c.Admin {
		return c.ServiceUser
	}
	return cfg.ExternalUserID
}

// table aligns tab-separated rows; Flush writes them without trailing blanks.
type table struct {
	out io.Writer
	buf bytes.Buffer
	tw  *tabwriter.Writer
}

func newTable(w io.Writer) *table {
	t := &table{out: w}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 0, 2, ' ', 0)
	return t
}

// row adds one row of cells.
func (t *table) row(cells ...string) {
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

// flush writes the aligned rows.
func (t *table) flush() {
	_ = t.tw.Flush()
	for _, line := range strings.SplitAfter(t.buf.String(), "\n") {
		if line == "" {
			continue
		}
		fmt.Fprintln(t.out, strings.TrimRight(line, " \n"))
	}
	t.buf.Reset()
}

// cut shortens s to at most n runes, marking the cut.
func cut(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// plural is "1 tool" / "2 tools".
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// thousands formats n with comma separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// errorText is err's message for people: the pdclient prefix is dropped.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	msg := err.Error()
	msg = strings.ReplaceAll(msg, "pdclient: ", "")
	return msg
}

// toolLimitNote is the warning for n tools, or "" when every common host
// takes them.
func toolLimitNote(n int) string {
	switch {
	case n > copilotToolLimit:
		return fmt.Sprintf("more than Cursor (%d) and GitHub Copilot (%d) take", cursorToolLimit, copilotToolLimit)
	case n > cursorToolLimit:
		return fmt.Sprintf("more than Cursor takes (%d)", cursorToolLimit)
	}
	return ""
}

// narrowHint says how to serve fewer tools of one connection; the example
// glob leaves out the most common kind of action ("hubspot-update-*").
func narrowHint(conn string, actions []string) string {
	count := map[string]int{}
	best := ""
	for _, key := range actions {
		parts := strings.SplitN(key, "-", 3)
		if len(parts) < 3 {
			continue
		}
		g := parts[0] + "-" + parts[1] + "-*"
		count[g]++
		if count[g] > count[best] || count[g] == count[best] && g < best {
			best = g
		}
	}
	if best == "" {
		best = conn + "-*"
	}
	return fmt.Sprintf("give connection %q in the config file include: or exclude: globs on action keys (e.g. exclude: [%q]) or read_only: true", conn, best)
}
