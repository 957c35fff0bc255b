package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lmittmann/tint"
	"github.com/mattn/go-isatty"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/pdclient/redisstore"
	"github.com/pipedream-mcp/pipedream-mcp/server"
	"github.com/pipedream-mcp/pipedream-mcp/server/app/config"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// parseCommon parses a command's flags and resolves the configuration. A --help
// prints the command's usage and returns errSilent(0).
func parseCommon(env *cmdEnv, name, usage string, args []string, extra func(fs *flag.FlagSet)) (*config.Config, *flag.FlagSet, error) {
	return parseFlags(env, name, usage, args, extra, false)
}

// parseNoConnections is parseCommon for commands that need credentials but no
// connection: without an app configured, the default credentials are checked
// instead.
func parseNoConnections(env *cmdEnv, name, usage string, args []string, extra func(fs *flag.FlagSet)) (*config.Config, *flag.FlagSet, error) {
	return parseFlags(env, name, usage, args, extra, true)
}

func parseFlags(env *cmdEnv, name, usage string, args []string, extra func(fs *flag.FlagSet), allowNoConnections bool) (*config.Config, *flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	cf := config.RegisterFlags(fs)
	cf.AllowNoConnections = allowNoConnections
	if extra != nil {
		extra(fs)
	}
	fs.Usage = func() { printCommandUsage(env, fs, name, usage, args) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, errSilent(0)
		}
		return nil, nil, &exitError{code: 2, err: err}
	}
	cfg, err := config.Resolve(cf, env.getenv, sandboxApps())
	if err != nil {
		return nil, nil, err
	}
	return cfg, fs, nil
}

// sandboxApps are the sandbox catalog's apps, for resolving --sandbox
// configurations: with no app named, the realistic ones (not the pd_edge
// fixture).
func sandboxApps() config.SandboxApps {
	f := pdtest.NewSandbox()
	return config.SandboxApps{Default: f.SandboxApps(), All: f.AllApps()}
}

// printCommandUsage prints a command's usage and its flags: on stdout when
// the user asked for it (--help), on stderr after a bad flag. Commands other
// than serve and doctor list only the flags that concern them, not the
// server's (transport, listener, HTTP auth, operations).
func printCommandUsage(env *cmdEnv, fs *flag.FlagSet, name, usage string, args []string) {
	w := env.stderr
	if slices.ContainsFunc(args, func(a string) bool { return a == "-h" || a == "-help" || a == "--help" }) {
		w = env.stdout
	}
	fmt.Fprintf(w, "%s\n\nFlags:\n", strings.TrimSpace(usage))
	all := name == "serve" || name == "doctor"
	fs.SetOutput(w)
	defer fs.SetOutput(env.stderr)
	shown := flag.NewFlagSet(name, flag.ContinueOnError)
	shown.SetOutput(w)
	fs.VisitAll(func(f *flag.Flag) {
		if all || !config.ServerFlag(f.Name) {
			shown.Var(f.Value, f.Name, f.Usage)
		}
	})
	shown.PrintDefaults()
}

// newLogger builds the slog logger: tint's text format on stderr (colour only on a
// terminal and without NO_COLOR), or JSON.
func newLogger(cfg *config.Config, w io.Writer, getenv func(string) string) *slog.Logger {
	return newLoggerTo(cfg, w, w, getenv)
}

// newLoggerTo is newLogger writing to out, which stands for the stream w
// (colour is decided on w).
func newLoggerTo(cfg *config.Config, w, out io.Writer, getenv func(string) string) *slog.Logger {
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: cfg.LogLevel}))
	}
	color := false
	if f, ok := w.(*os.File); ok && getenv("NO_COLOR") == "" {
		color = isatty.IsTerminal(f.Fd())
	}
	if !color {
		return slog.New(newPlainText(out, cfg.LogLevel))
	}
	return slog.New(tint.NewTextHandler(out, &tint.Options{Level: cfg.LogLevel, TimeFormat: time.TimeOnly}))
}

// backend is everything a command needs to talk to Connect: one client per
// distinct credential set, the tool set, and (with --sandbox) the embedded fake.
type backend struct {
	cfg     *config.Config
	log     *slog.Logger
	clients map[config.Credentials]*pdclient.Client
	metrics *server.Metrics // nil: no metrics (stdio without --metrics-addr, other commands)
	conns   []tools.Connection
	open    *tools.OpenCatalog // --app '*'; nil without it
	set     *tools.Set
	fake    *pdtest.Server
	fleet   *redisstore.Shared // --redis-url (scaleout.go); nil without
	// unchecked are the credential sets whose check was inconclusive (the API
	// unreachable or failing); recheckCredentials retries them.
	unchecked []pendingCheck
	// hooks run on every successful reload (see OnReload).
	hookMu sync.Mutex
	hooks  []reloadHook
}

func (rt *backend) Close() {
	if rt.fleet != nil {
		_ = rt.fleet.Close()
	}
	if rt.fake != nil {
		_ = rt.fake.Close()
	}
}

// newClient builds the Connect client of one credential set with the run's
// cache lifetime and listing bounds; obs (nil: none) counts its requests.
func newClient(cfg *config.Config, c config.Credentials, log *slog.Logger, obs pdclient.Observer, opts ...pdclient.Option) (*pdclient.Client, error) {
	return pdclient.New(pdclient.Config{
		ClientID: c.ClientID, ClientSecret: c.ClientSecret, ProjectID: c.ProjectID,
		Environment: c.Environment, BaseURL: c.BaseURL, Version: version,
		CatalogTTL: cfg.CatalogTTL, MaxListItems: cfg.MaxListItems, MaxListBytes: int64(cfg.MaxListBytes),
	}, append([]pdclient.Option{pdclient.WithLogger(log), pdclient.WithObserver(obs)}, opts...)...)
}

// observer is what the clients and the tool set report to: the metrics, or
// nil (a nil *server.Metrics must not become a non-nil interface).
func (rt *backend) observer() interface {
	pdclient.Observer
	tools.Observer
} {
	if rt.metrics == nil {
		return nil
	}
	return rt.metrics
}

// newRuntime builds the clients and the tool set (catalogs not loaded yet).
// onChange is called when the tool list changes.
func newRuntime(cfg *config.Config, log *slog.Logger, onChange func()) (*backend, error) {
	return newRuntimeWith(cfg, log, nil, onChange)
}

// newRuntimeWith is newRuntime with metrics (nil: none).
func newRuntimeWith(cfg *config.Config, log *slog.Logger, metrics *server.Metrics, onChange func()) (*backend, error) {
	rt := &backend{cfg: cfg, log: log, metrics: metrics, clients: map[config.Credentials]*pdclient.Client{}}
	if cfg.Sandbox {
		srv, err := pdtest.NewSandbox().Start("127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("start the sandbox API: %w", err)
		}
		rt.fake = srv
		log.Warn("SANDBOX MODE: a simulated Pipedream Connect API with demo users and accounts; nothing reaches Pipedream", "api", srv.URL, "external_user_id", cfg.ExternalUserID)
	}
	if err := rt.startFleet(); err != nil {
		rt.Close()
		return nil, err
	}
	flows, err := rt.assemble(nil)
	if err != nil {
		rt.Close()
		return nil, err
	}
	webhookURI := connectWebhookURI(cfg)
	set, err := tools.New(tools.Options{
		Connections: rt.conns, Workflows: flows, Logger: log, Observer: rt.observer(),
		CallTimeout: cfg.CallTimeout, ConnectWait: cfg.ConnectWait, ResultLimit: cfg.ResultLimit, RefreshEvery: cfg.CatalogTTL,
		WebhookURI: webhookURI, OnChange: onChange, ToolMode: cfg.ToolMode, Sandbox: cfg.Sandbox, SchemaProfile: cfg.SchemaProfile, Open: rt.open,
	})
	if err != nil {
		rt.Close()
		return nil, err
	}
	rt.set = set
	return rt, nil
}

// checkCredentials makes one token request and one project-scoped read per
// distinct credential set. Rejected credentials or an unknown project are
// configuration errors naming every affected connection; an unreachable API or
// a 5xx is only a warning (the server starts, and recheckCredentials retries).
func (rt *backend) checkCredentials(ctx context.Context) error {
	return rt.checkClients(ctx, rt.clients)
}

// checkClients checks the given credential sets as checkCredentials does.
func (rt *backend) checkClients(ctx context.Context, clients map[config.Credentials]*pdclient.Client) error {
	if rt.fake != nil {
		return nil
	}
	type outcome struct {
		creds config.Credentials
		err   error
	}
	var mu sync.Mutex
	var results []outcome
	var wg sync.WaitGroup
	for creds, cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			err := cl.CheckCredentials(cctx)
			mu.Lock()
			results = append(results, outcome{creds, err})
			mu.Unlock()
		}()
	}
	wg.Wait()
	var problems []string
	for _, r := range results {
		if r.err == nil {
			continue
		}
		names := rt.connectionsUsing(r.creds)
		if p := credentialProblem(r.creds, names, r.err); p != "" {
			problems = append(problems, p)
			continue
		}
		rt.log.Warn("could not check the Pipedream credentials; going on and retrying in the background", "connections", names, "err", r.err)
		rt.unchecked = append(rt.unchecked, pendingCheck{names: names, client: clients[r.creds], creds: r.creds})
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return &config.Error{Problems: problems}
	}
	return nil
}

func (rt *backend) connectionsUsing(c config.Credentials) string {
	var names []string
	for _, conn := range rt.cfg.Connections {
		if conn.Credentials == c {
			names = append(names, conn.Name)
		}
	}
	for _, w := range rt.cfg.Workflows {
		if w.Credentials == c {
			names = append(names, "workflow "+w.Name)
		}
	}
	if len(names) == 0 {
		// Only the Connect Links of bearer/none workflows use them.
		return "the default credentials"
	}
	return strings.Join(names, ", ")
}

// stdioUser decorates the stdio session context with the configured end user
// and, with --trust-client-user, lets calls name theirs in _meta. Only stdio
// does: over HTTP and SSE the user comes from the credential alone.
func stdioUser(user string, trustClientUser bool) func(context.Context) context.Context {
	return func(ctx context.Context) context.Context {
		ctx = tools.WithUser(ctx, user)
		if trustClientUser {
			ctx = tools.WithClientNamedUser(ctx)
		}
		return ctx
	}
}

const serveUsage = `Usage: pipedream-mcp [serve] [flags]

Runs the MCP server. With --transport stdio (the default) it serves one client on
stdin/stdout; nothing but protocol frames is written to stdout, logs go to stderr.

SIGHUP reloads the configuration and every secret file without a restart
(kill -HUP <pid>): an invalid new configuration is refused and logged, the old
one keeps serving. Changing the transport, address or authentication needs a
restart. SIGINT or SIGTERM stops the server after calls in flight finish.

Examples:
  pipedream-mcp --sandbox
  PIPEDREAM_CLIENT_ID=... PIPEDREAM_CLIENT_SECRET=... PIPEDREAM_PROJECT_ID=proj_... \
    PIPEDREAM_PROJECT_ENVIRONMENT=development pipedream-mcp --app slack --external-user-id user-123
  pipedream-mcp --config pipedream-mcp.yaml --transport http --auth jwt`

func cmdServe(env *cmdEnv, args []string) error {
	cfg, _, err := parseCommon(env, "serve", serveUsage, args, nil)
	if err != nil {
		return err
	}
	// Records logged under a client's request also reach that client as
	// notifications/message at the level it set (server.ClientLog).
	// On a file or pipe, the server's log lines are written in batches
	// (logWriter): one write per logFlushDelay instead of one per call.
	var logOut io.Writer = env.stderr
	if _, ok := env.stderr.(*os.File); ok {
		lw := newLogWriter(env.stderr)
		defer lw.Close()
		logOut = lw
	}
	log := slog.New(server.NewClientLog(newLoggerTo(cfg, env.stderr, logOut, env.getenv).Handler()))
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	// Tracing: OTLP/HTTP when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set.
	shutdownTracing, err := server.SetupTracing(env.ctx, server.TracingOptions{Getenv: env.getenv, Version: version, Logger: log})
	if err != nil {
		return &config.Error{Problems: []string{err.Error()}}
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdownTracing(ctx); err != nil {
			log.Warn("tracing: flushing spans at exit failed", "err", err)
		}
	}()
	// Metrics: served at /metrics on the HTTP transports, and on
	// --metrics-addr (stdio needs it).
	var metrics *server.Metrics
	if cfg.Transport != "stdio" || cfg.MetricsAddr != "" {
		metrics = server.NewMetrics()
	}
	// SIGHUP reloads the configuration (reload.go). Caught from here on, so a
	// hangup during start-up waits for the server instead of killing it.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	var srv *server.Server
	var ready = make(chan struct{})
	onChange := func() {
		<-ready
		srv.Refresh()
	}
	if cfg.Transport != "stdio" {
		// Before the backend: Connect tokens carry the webhook URI built from it.
		ensureWebhookSecret(cfg)
	}
	rt, err := newRuntimeWith(cfg, log, metrics, onChange)
	if err != nil {
		return err
	}
	defer rt.Close()
	// The credential check runs beside the catalog loads and the server (the
	// token request is shared): initialize and tools/list do not wait for it,
	// tool calls do, and rejected credentials stop the server (exit 2).
	check := startCheck(env.ctx, rt)
	srv = server.New(rt.set, server.Options{
		Name: "pipedream-mcp", Version: version, Logger: log,
		Instructions: serverInstructions, Metrics: metrics, Gate: check.wait,
		// A call from a client that takes tasks runs on past the call
		// timeout as a task (server/tasks.go).
		Tasks: server.TaskOptions{Wait: cfg.CallTimeout, RunContext: tools.WithRunLimit},
	})
	close(ready)
	runCtx, cancel := context.WithCancel(context.WithoutCancel(env.ctx))
	defer cancel()
	serveCtx, stopServing := context.WithCancel(env.ctx)
	defer stopServing()
	go rt.set.Run(runCtx)
	reloader := newReloader(args, env.getenv, rt, cfg)
	go func() {
		if check.wait(runCtx) != nil {
			stopServing()
			return
		}
		// After the check: both add to and read rt.unchecked.
		go reloader.watch(runCtx, hup)
		rt.recheckCredentials(runCtx)
	}()

	log.Info("serving", "transport", cfg.Transport, "connections", len(cfg.Connections), "workflows", len(cfg.Workflows), "version", version)
	if cfg.MetricsAddr != "" {
		ln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return failf("listen on %s (--metrics-addr): %v", cfg.MetricsAddr, err)
		}
		log.Info("metrics", "url", "http://"+ln.Addr().String()+"/metrics", "pprof", cfg.Pprof)
		go func() {
			if err := srv.ServeOps(runCtx, ln, server.NewOpsHandler(server.OpsOptions{Metrics: metrics.Handler(), Pprof: cfg.Pprof})); err != nil {
				log.Error("metrics listener stopped", "err", err)
			}
		}()
	}
	if cfg.Transport == "stdio" {
		err = srv.ServeStdio(serveCtx, env.stdin, env.stdout, stdioUser(cfg.ExternalUserID, cfg.TrustClientUser), cfg.ShutdownTimeout)
	} else {
		err = serveHTTP(serveCtx, cfg, rt, srv, log)
	}
	// A client that left before the check ended still gets its verdict.
	if cerr := check.wait(context.Background()); cerr != nil {
		return cerr
	}
	return err
}

// credentialCheck is the start-up credential check (backend.checkCredentials)
// running in the background.
type credentialCheck struct {
	done chan struct{}
	err  error // set before done closes
}

// startCheck starts checking rt's credentials; the check ends with ctx.
func startCheck(ctx context.Context, rt *backend) *credentialCheck {
	c := &credentialCheck{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.err = rt.checkCredentials(ctx)
	}()
	return c
}

// wait returns the check's error once it has ended, or ctx's cause if ctx
// ends first.
func (c *credentialCheck) wait(ctx context.Context) error {
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// serverInstructions explain, once, what every tool would otherwise repeat
// (DESIGN.md "Tool definitions stay lean"): the reserved arguments, the hints
// the properties carry, and the helpers.
const serverInstructions = `Tools run Pipedream actions for the current user's connected accounts.
Every action tool takes an optional _account_id (apn_...): which of the user's connected accounts for the app to use (pipedream_accounts lists them, and the connect_url to add one); without it the newest healthy account is used.
A field whose description says "Values: pipedream_list_options" takes values from the app (channels, repositories, sheets): call pipedream_list_options with tool=<the tool> and prop=<the field>, plus query where it says "supports query"; pass the value, not the label. A value you already know, such as an ID, may be passed directly.
A field that says "Other fields depend on this one" reveals more fields once set: call pipedream_describe with tool and the values chosen so far as configured_props; it answers the full input schema and a dynamic_props_id to pass back as _dynamic_props_id together with the revealed fields.
A result with status "account_required" carries a connect_url the user must open before retrying.
Results with isError tell you what to do next; a "timeout" means the action may have run: check before retrying.`
