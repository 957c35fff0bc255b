package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/server/app/config"
)

const appsUsage = `Usage: pipedream-mcp apps [flags] [QUERY]

Searches Pipedream's app catalog (GET /v1/connect/apps?q=QUERY) and prints each
app's slug, name and auth type, so you can find the slug to serve with --app,
PIPEDREAM_APPS or app: in the config file. --actions adds how many actions each
app has (one catalog read per app, so it is slower). Needs the credentials
(PIPEDREAM_CLIENT_ID, PIPEDREAM_CLIENT_SECRET, PIPEDREAM_PROJECT_ID,
PIPEDREAM_PROJECT_ENVIRONMENT) but no configured app.

Examples:
  pipedream-mcp apps --sandbox
  pipedream-mcp apps --sandbox --actions google
  pipedream-mcp apps gitlab
  pipedream-mcp apps --limit 100 crm`

func cmdApps(env *cmdEnv, args []string) error {
	var withActions bool
	var limit int
	extra := func(fs *flag.FlagSet) {
		fs.BoolVar(&withActions, "actions", false, "also count each app's actions (one catalog read per app)")
		fs.IntVar(&limit, "limit", 25, "most apps to list")
	}
	flags, pos := splitArgs(args, extra)
	cfg, fs, err := parseNoConnections(env, "apps", appsUsage, flags, extra)
	if err != nil {
		return err
	}
	if limit <= 0 {
		return usageErrorf("--limit must be at least 1, got %d", limit)
	}
	query := strings.TrimSpace(strings.Join(pos, " "))

	log := peopleLogger(env, cfg, fs)
	cl, closeFn, err := catalogClient(cfg, log)
	if err != nil {
		return err
	}
	defer closeFn()

	ctx := env.ctx
	apps, total, err := searchApps(ctx, cl, query, limit)
	if err != nil {
		return appsFailure(err)
	}
	var counts []string
	if withActions {
		counts = countActions(ctx, cl, apps)
	}
	st := newStyle(env.stdout, env.getenv)
	if cfg.Sandbox {
		fmt.Fprintln(env.stdout, st.yellow(sandboxBanner))
		fmt.Fprintln(env.stdout)
	}
	printApps(env.stdout, st, apps, counts, query, total)
	return nil
}

// catalogClient is a Connect client for catalog reads: the sandbox's, the
// default credentials', or else the first connection's.
func catalogClient(cfg *config.Config, log *slog.Logger) (*pdclient.Client, func(), error) {
	closeFn := func() {}
	creds := cfg.Defaults
	if cfg.Sandbox {
		srv, err := pdtest.NewSandbox().Start("127.0.0.1:0")
		if err != nil {
			return nil, nil, fmt.Errorf("start the sandbox API: %w", err)
		}
		closeFn = func() { _ = srv.Close() }
		creds = config.Credentials{ClientID: pdtest.SandboxClientID, ClientSecret: pdtest.SandboxClientSecret, ProjectID: pdtest.SandboxProjectID, Environment: pdtest.SandboxEnvironment, BaseURL: srv.URL}
	} else if creds.ClientID == "" || creds.ClientSecret == "" || creds.ProjectID == "" || creds.Environment == "" {
		if len(cfg.Connections) > 0 {
			creds = cfg.Connections[0].Credentials
		}
	}
	cl, err := newClient(cfg, creds, log, nil)
	if err != nil {
		closeFn()
		return nil, nil, &config.Error{Problems: []string{err.Error()}}
	}
	return cl, closeFn, nil
}

// searchApps pages through GET /v1/connect/apps until limit apps are found.
// total is the API's count of matches (0 when it gives none).
func searchApps(ctx context.Context, cl *pdclient.Client, query string, limit int) ([]pdclient.App, int, error) {
	var apps []pdclient.App
	total := 0
	after := ""
	for len(apps) < limit {
		page, info, err := cl.ListApps(ctx, pdclient.ListAppsOptions{Query: query, Limit: limit - len(apps), After: after})
		if err != nil {
			return nil, 0, err
		}
		if total == 0 {
			total = info.TotalCount
		}
		apps = append(apps, page...)
		if len(page) == 0 || info.EndCursor == "" || info.EndCursor == after {
			break
		}
		after = info.EndCursor
	}
	if len(apps) > limit {
		apps = apps[:limit]
	}
	return apps, total, nil
}

// countActions counts each app's actions, four apps at a time; "?" when the
// catalog could not be read.
func countActions(ctx context.Context, cl *pdclient.Client, apps []pdclient.App) []string {
	counts := make([]string, len(apps))
	var g errgroup.Group
	g.SetLimit(4)
	var mu sync.Mutex
	for i, a := range apps {
		g.Go(func() error {
			comps, err := cl.ListActions(ctx, a.NameSlug, pdclient.RegistryAll)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				counts[i] = "?"
				return nil
			}
			counts[i] = fmt.Sprint(len(comps))
			return nil
		})
	}
	_ = g.Wait()
	return counts
}

func printApps(w io.Writer, st style, apps []pdclient.App, counts []string, query string, total int) {
	matching := ""
	if query != "" {
		matching = fmt.Sprintf(" matching %q", query)
	}
	if len(apps) == 0 {
		fmt.Fprintf(w, "No app%s.\n", matching)
		return
	}
	tw := newTable(w)
	if counts != nil {
		tw.row("SLUG", "NAME", "AUTH", "ACTIONS")
	} else {
		tw.row("SLUG", "NAME", "AUTH")
	}
	for i, a := range apps {
		auth := a.AuthType
		if auth == "" {
			auth = "-"
		}
		if counts != nil {
			tw.row(a.NameSlug, cut(a.Name, 40), auth, counts[i])
		} else {
			tw.row(a.NameSlug, cut(a.Name, 40), auth)
		}
	}
	tw.flush()
	fmt.Fprintln(w)
	if total > len(apps) {
		fmt.Fprintf(w, "Showing %d of %s apps%s; narrow the search or raise --limit.\n", len(apps), thousands(total), matching)
	} else {
		fmt.Fprintf(w, "%s%s.\n", plural(len(apps), "app", "apps"), matching)
	}
	fmt.Fprintln(w, st.dim("Serve one with --app <slug> (repeatable), PIPEDREAM_APPS=slug1,slug2, or app: <slug> in the config file."))
}

// appsFailure explains a failed catalog search.
func appsFailure(err error) error {
	switch {
	case errors.Is(err, pdclient.ErrUnauthorized):
		return &config.Error{Problems: []string{"Pipedream rejected the OAuth client: check PIPEDREAM_CLIENT_ID and PIPEDREAM_CLIENT_SECRET (or client_id/client_secret in the config file)"}}
	default:
		return failf("search the app catalog: %s (run \"pipedream-mcp doctor\" to check the setup)", errorText(err))
	}
}
