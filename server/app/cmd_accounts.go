package app

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

const accountsUsage = `Usage: pipedream-mcp accounts [flags] [APP]

Lists the end user's connected accounts of every configured app (or of APP, an
app slug or connection name): id, name, whether it is healthy, and when it was
connected; the newest healthy one is what calls use unless _account_id says
otherwise. For each user connection it prints a Connect Link (valid 4 hours,
single use) that connects another account for that user. Admin connections run
as their service identity, whose accounts an administrator connects.

The end user is --external-user-id or PIPEDREAM_EXTERNAL_USER_ID (demo-user with
--sandbox). Exits 0 even when there is no account.

Examples:
  pipedream-mcp accounts --sandbox
  pipedream-mcp accounts --sandbox notion
  pipedream-mcp accounts --app slack --external-user-id user-123`

func cmdAccounts(env *cmdEnv, args []string) error {
	cfg, fs, pos, err := parsePeople(env, "accounts", accountsUsage, args, nil)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageErrorf("accounts takes at most one app, got %q", strings.Join(pos, " "))
	}
	s, err := newSession(env, cfg, fs)
	if err != nil {
		return err
	}
	defer s.Close()

	var conns []tools.Connection
	for _, c := range s.rt.conns {
		if len(pos) == 0 || c.App == pos[0] || c.Name == pos[0] {
			conns = append(conns, c)
		}
	}
	if len(conns) == 0 {
		if len(pos) == 1 {
			return usageErrorf("no configured connection serves %q (connections: %s)", pos[0], configuredConnections(cfg))
		}
		return usageErrorf("no connection is configured: name an app with --app")
	}
	for _, c := range conns {
		if endUserOf(cfg, c) == "" {
			return usageErrorf("no end user to list accounts for (connection %q): pass --external-user-id or set PIPEDREAM_EXTERNAL_USER_ID", c.Name)
		}
	}
	if err := s.rt.checkCredentials(env.ctx); err != nil {
		return err
	}

	st := newStyle(env.stdout, env.getenv)
	if cfg.Sandbox {
		fmt.Fprintln(env.stdout, st.yellow(sandboxBanner))
		fmt.Fprintln(env.stdout)
	}
	webhookURI := connectWebhookURI(cfg)
	failed := 0
	for i, c := range conns {
		if i > 0 {
			fmt.Fprintln(env.stdout)
		}
		if !printConnectionAccounts(env.ctx, env.stdout, st, c, endUserOf(cfg, c), webhookURI, cfg.Sandbox) {
			failed++
		}
	}
	if failed > 0 {
		return failf("could not list the accounts of %s", plural(failed, "connection", "connections"))
	}
	return nil
}

// printConnectionAccounts prints one connection's accounts and how to connect
// another (labelled as simulated in the sandbox); false when the accounts
// could not be listed.
func printConnectionAccounts(ctx context.Context, w io.Writer, st style, c tools.Connection, user, webhookURI string, sandbox bool) bool {
	label := connectionLabel(c)
	accts, err := c.Client.ListAccounts(ctx, user, c.App)
	if err != nil {
		fmt.Fprintf(w, "%s: %s %s\n", st.bold(label), st.red("could not list the accounts:"), errorText(err))
		return false
	}
	mine := appAccounts(accts, c.App)
	fmt.Fprintf(w, "%s: %s\n", st.bold(label), accountsSummary(mine, c.Admin, user))
	if len(mine) > 0 {
		writeAccountRows(w, mine)
	}
	if c.Admin {
		fmt.Fprintf(w, "  An administrator connects the service identity's %s account in Pipedream Connect (external user ID %q); no Connect Link is printed, since whoever opens one attaches their account to the shared identity.\n", c.App, user)
		return true
	}
	tok, err := c.Client.CreateConnectToken(ctx, pdclient.ConnectTokenRequest{ExternalUserID: user, WebhookURI: webhookURI})
	if err != nil {
		fmt.Fprintf(w, "  %s %s\n", st.yellow("No Connect Link:"), errorText(err))
		return true
	}
	verb := "Connect another"
	if len(mine) == 0 {
		verb = "Connect a"
	}
	fmt.Fprintf(w, "  %s %s account for %q (link valid 4 hours, single use):\n    %s\n", verb, c.App, user, pdclient.ConnectLink(tok, c.App))
	if sandbox {
		fmt.Fprintf(w, "    %s\n", st.yellow(tools.SandboxLinkNote))
	}
	return true
}

// connectionLabel names a connection in the accounts listing: its name, with
// its app when that differs, and whether it is an admin connection.
func connectionLabel(c tools.Connection) string {
	kind := ""
	if c.Admin {
		kind = ", admin"
	}
	switch {
	case c.Name != c.App:
		return fmt.Sprintf("%s (app %s%s)", c.Name, c.App, kind)
	case c.Admin:
		return fmt.Sprintf("%s (admin)", c.Name)
	}
	return c.Name
}

// appAccounts keeps the accounts of app, newest first.
func appAccounts(accts []pdclient.Account, app string) []pdclient.Account {
	mine := make([]pdclient.Account, 0, len(accts))
	for _, a := range accts {
		if a.AppSlug() == "" || a.AppSlug() == app {
			mine = append(mine, a)
		}
	}
	sort.SliceStable(mine, func(i, j int) bool { return mine[i].Created().After(mine[j].Created()) })
	return mine
}

// accountsSummary is the heading line: how many accounts, of whom, how many healthy.
func accountsSummary(mine []pdclient.Account, admin bool, user string) string {
	whose := fmt.Sprintf("end user %q", user)
	if admin {
		whose = fmt.Sprintf("service identity %q", user)
	}
	if len(mine) == 0 {
		return fmt.Sprintf("no accounts of %s", whose)
	}
	healthy := 0
	for _, a := range mine {
		if a.Healthy && !a.Dead {
			healthy++
		}
	}
	return fmt.Sprintf("%s of %s (%d healthy)", plural(len(mine), "account", "accounts"), whose, healthy)
}

// writeAccountRows prints the accounts table, marking the one a call uses by
// default (the newest healthy one).
func writeAccountRows(w io.Writer, mine []pdclient.Account) {
	tw := newTable(w)
	tw.row("  ID", "NAME", "HEALTHY", "CREATED")
	used := false
	for _, a := range mine {
		h := "yes"
		switch {
		case a.Dead:
			h = "no (dead)"
		case !a.Healthy:
			h = "no"
		}
		name := a.Name
		if name == "" {
			name = "-"
		}
		note := ""
		if !used && a.Healthy && !a.Dead {
			note = "  (used by default)"
			used = true
		}
		tw.row("  "+a.ID, cut(name, 40), h, createdText(a)+note)
	}
	tw.flush()
}

// createdText is an account's creation time in UTC, to the minute.
func createdText(a pdclient.Account) string {
	t := a.Created()
	if t.IsZero() {
		if a.CreatedAt == "" {
			return "-"
		}
		return a.CreatedAt
	}
	return t.UTC().Format(time.DateOnly+" 15:04") + " UTC"
}
