package app

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
)

const sandboxAPIUsage = `Usage: pipedream-mcp sandbox-api [--addr 127.0.0.1:0] [flags]

Serves the sandbox's simulated Pipedream Connect API (the one --sandbox embeds)
in its own process, for benchmarks and load tests that must tell the server's
CPU and memory apart from the fake's. Prints the base URL on stdout, one line,
then serves until interrupted. Point a server at it with
PIPEDREAM_BASE_URL=<url>, PIPEDREAM_CLIENT_ID=sandbox-client-id,
PIPEDREAM_CLIENT_SECRET=sandbox-client-secret, PIPEDREAM_PROJECT_ID=proj_sandbox
and PIPEDREAM_PROJECT_ENVIRONMENT=development. Hidden: not in the usage.`

// cmdSandboxAPI runs the simulated Connect API out of process
// (`pipedream-mcp sandbox-api --addr 127.0.0.1:0`).
func cmdSandboxAPI(env *cmdEnv, args []string) error {
	fs := flag.NewFlagSet("sandbox-api", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on (port 0 picks a free one)")
	latency := fs.Duration("latency", 0, "delay added to every request (all endpoints)")
	listLatency := fs.Duration("list-latency", 0, "delay added to action list and action read requests")
	runDelay := fs.Duration("run-delay", 0, "delay added to every actions/run request (on top of --latency)")
	slim := fs.Bool("slim", false, "action list pages without configurable_props (the older API shape)")
	inspectAddr := fs.String("inspect-addr", "", "also serve, on this address, the log of every request (GET /requests) and adding accounts (POST /accounts), for tests")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\nFlags:\n", sandboxAPIUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errSilent(0)
		}
		return &exitError{code: 2, err: err}
	}
	if fs.NArg() > 0 {
		return usageErrorf("sandbox-api takes no arguments, got %q", fs.Args())
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"--latency", *latency}, {"--list-latency", *listLatency}, {"--run-delay", *runDelay}} {
		if f.d < 0 {
			return usageErrorf("%s must not be negative", f.name)
		}
	}
	if *latency > 0 && *listLatency > 0 {
		return usageErrorf("--latency and --list-latency cannot be combined (the fake applies one delay per request)")
	}

	fake := pdtest.NewSandbox()
	fake.SetSlimActionLists(*slim)
	fake.SetRunDelay(*runDelay)
	if *latency > 0 {
		fake.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointAll, Delay: *latency})
	}
	if *listLatency > 0 {
		fake.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointActions, Delay: *listLatency})
		fake.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointAction, Delay: *listLatency})
	}
	if *inspectAddr != "" {
		url, stop, err := serveInspected(fake, *addr, *inspectAddr)
		if err != nil {
			return err
		}
		defer stop()
		fmt.Fprintln(env.stdout, url)
		<-env.ctx.Done()
		return nil
	}
	srv, err := fake.Start(*addr)
	if err != nil {
		return failf("listen on %s: %v", *addr, err)
	}
	defer srv.Close()
	fmt.Fprintln(env.stdout, srv.URL)
	fmt.Fprintf(env.stderr, "sandbox-api: SANDBOX: a simulated Pipedream Connect API serving %s; nothing reaches Pipedream\n", srv.URL)
	<-env.ctx.Done()
	return nil
}

// serveInspected serves fake behind a pdtest.Recorder on addr, and the
// recorder's inspection handler on inspectAddr; url is the fake's (with the
// port picked when addr's is 0).
func serveInspected(fake *pdtest.Fake, addr, inspectAddr string) (url string, stop func(), err error) {
	rec := pdtest.NewRecorder(fake)
	var srvs []*http.Server
	for _, l := range []struct {
		addr string
		h    http.Handler
	}{{addr, rec}, {inspectAddr, rec.InspectHandler()}} {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			for _, s := range srvs {
				_ = s.Close()
			}
			return "", nil, failf("listen on %s: %v", l.addr, err)
		}
		if url == "" {
			url = "http://" + ln.Addr().String()
		}
		s := &http.Server{Handler: l.h, ReadHeaderTimeout: 10 * time.Second}
		srvs = append(srvs, s)
		go func() { _ = s.Serve(ln) }()
	}
	return url, func() {
		for _, s := range srvs {
			_ = s.Close()
		}
	}, nil
}
