// This file resolves the connections: one Pipedream app each.

package config

import (
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// connections builds the connections from --app/PIPEDREAM_APPS (the flag beats the
// variable) and the file's connections: list; with --sandbox and none named, one per
// sandbox app.
func (r *resolver) connections(cfg *Config, defaults []credLayer, sandbox SandboxApps) []Connection {
	cs := &connectionSet{r: r, cfg: cfg, sandboxApps: sandbox.All, seen: map[string]string{}}
	slugs, src := r.appSlugs(cfg, sandbox.Default)
	oauth := strings.ToLower(r.cf.oauth)
	if oauth != "user" && oauth != "admin" {
		r.probs.add("invalid --oauth %q: use user or admin", r.cf.oauth)
		oauth = defaultOAuth
	}
	for _, slug := range slugs {
		c := Connection{App: slug, Name: slug, OAuth: oauth}
		if oauth == "admin" {
			c.ExternalUserID = cfg.ExternalUserID
		}
		c.Credentials = r.ownerCredentials(cfg, fmt.Sprintf("connection %q", slug), defaults)
		cs.add(c, "from "+src)
	}
	for i, fc := range r.file.Connections {
		where := fmt.Sprintf("connections item %d of the config file", i+1)
		if c, ok := r.fileConnection(cfg, fc, where, defaults); ok {
			cs.add(c, where)
		}
	}
	return cs.out
}

// appSlugs returns the apps named by --app (or PIPEDREAM_APPS) and where they
// came from; with --sandbox and no connection named anywhere, the sandbox's
// default apps.
func (r *resolver) appSlugs(cfg *Config, sandboxApps []string) ([]string, string) {
	apps := sourced{strings.Join(r.cf.apps, ","), "--app"}
	if len(r.cf.apps) == 0 {
		apps = sourced{r.getenv(EnvApps), EnvApps}
	}
	slugs := splitList(apps.val)
	if cfg.Sandbox && len(slugs) == 0 && len(r.file.Connections) == 0 {
		return sandboxApps, "the sandbox catalog"
	}
	return slugs, apps.src
}

// fileConnection resolves one item of the file's connections: list; false
// when it cannot be a connection at all (no app).
func (r *resolver) fileConnection(cfg *Config, fc fileConnection, where string, defaults []credLayer) (Connection, bool) {
	if fc.App == "" {
		r.probs.add("%s has no app: set app: to an app slug such as slack", where)
		return Connection{}, false
	}
	c := Connection{
		App:                fc.App,
		Name:               firstOf(fc.Name, fc.App),
		OAuth:              strings.ToLower(firstOf(fc.OAuth, defaultOAuth)),
		Include:            fc.Include,
		Exclude:            fc.Exclude,
		ReadOnly:           fc.ReadOnly,
		ConfirmDestructive: confirmPolicy(fc.Confirm),
		IncludeApps:        fc.IncludeApps,
		ExcludeApps:        fc.ExcludeApps,
		Registry:           fc.Registry,
		Proxy:              fc.Proxy,
	}
	owner := fmt.Sprintf("connection %q", c.Name)
	if c.ConfirmDestructive != "" {
		if err := tools.CheckConfirmPolicy(c.ConfirmDestructive); err != nil {
			r.probs.add("invalid confirm_destructive (%s): %v", where, err)
		}
	}
	r.proxySettings(&c, fc, where)
	switch c.OAuth {
	case "admin":
		c.ExternalUserID = firstOf(fc.ExternalUserID, cfg.ExternalUserID)
	case "user":
		if fc.ExternalUserID != "" {
			r.warn("external_user_id: of %s is ignored: oauth: user connections run as the caller (use oauth: admin for a service identity)", owner)
		}
	default:
		r.probs.add("invalid oauth %q (%s): use user or admin", fc.OAuth, where)
	}
	layers := append([]credLayer{r.fileLayer(fc.fileCredentials, owner)}, defaults...)
	c.Credentials = r.ownerCredentials(cfg, owner, layers)
	return c, true
}

// proxySettings checks the registry and the proxy methods of a file
// connection and sets c.ProxyMethods (upper case).
func (r *resolver) proxySettings(c *Connection, fc fileConnection, where string) {
	if err := tools.CheckRegistry(c.Registry); c.Registry != "" && err != nil {
		r.probs.add("invalid registry (%s): %v", where, err)
	}
	if len(fc.ProxyMethods) > 0 && !fc.Proxy {
		r.warn("proxy_methods of connection %q is ignored: set proxy: true to serve the app's API", c.Name)
	}
	for _, m := range fc.ProxyMethods {
		m = strings.ToUpper(strings.TrimSpace(m))
		if err := tools.CheckProxyMethod(m); err != nil {
			r.probs.add("invalid proxy_methods entry (%s): %v", where, err)
			continue
		}
		if c.ReadOnly && m != http.MethodGet {
			r.warn("proxy_methods %s of connection %q is ignored: a read_only connection allows only GET", m, c.Name)
			continue
		}
		if !slices.Contains(c.ProxyMethods, m) {
			c.ProxyMethods = append(c.ProxyMethods, m)
		}
	}
}

// connectionSet collects the connections, checking each as it is added.
type connectionSet struct {
	r           *resolver
	cfg         *Config
	sandboxApps []string
	seen        map[string]string // name -> where it was defined
	out         []Connection
}

// checkOpen checks the open catalog's connection: no name, valid app globs.
func (cs *connectionSet) checkOpen(c Connection, where string) {
	r := cs.r
	if c.Name != OpenCatalog {
		r.probs.add("the open catalog (app: %q, %s) takes no name: each app's tools are named after the app", OpenCatalog, where)
	}
	for _, g := range append(slices.Clone(c.IncludeApps), c.ExcludeApps...) {
		if _, err := path.Match(g, ""); err != nil {
			r.probs.add("invalid app glob %q (%s): use path.Match syntax, e.g. google_*", g, where)
		}
	}
}

// checkApp checks an app's connection: its name, its slug (in the sandbox's
// catalog with --sandbox), and that it has no app globs.
func (cs *connectionSet) checkApp(c Connection, where string) {
	r := cs.r
	if !connectionNamePattern.MatchString(c.Name) {
		r.probs.add("invalid connection name %q (%s): use 1 to 32 of a-z, A-Z, 0-9, _ and -", c.Name, where)
	}
	if len(c.IncludeApps)+len(c.ExcludeApps) > 0 {
		r.probs.add("include_apps and exclude_apps (%s) apply only to the open catalog (app: %q)", where, OpenCatalog)
	}
	switch {
	case !appSlugPattern.MatchString(c.App):
		r.probs.add("invalid app slug %q (%s): slugs are lower case, like slack or google_sheets (pipedream-mcp apps QUERY finds them)", c.App, where)
	case cs.cfg.Sandbox && len(cs.sandboxApps) > 0 && !slices.Contains(cs.sandboxApps, c.App):
		r.probs.add("app %q is not in the sandbox catalog (%s): the sandbox has %s", c.App, where, strings.Join(cs.sandboxApps, ", "))
	}
}

// add checks c (defined at where) and keeps it unless its name is taken.
func (cs *connectionSet) add(c Connection, where string) {
	r := cs.r
	if prev, dup := cs.seen[c.Name]; dup {
		r.probs.add("connection name %q is used twice (%s and %s): give one a different name: in the config file", c.Name, prev, where)
		return
	}
	cs.seen[c.Name] = where
	if c.App == OpenCatalog {
		cs.checkOpen(c, where)
	} else {
		cs.checkApp(c, where)
	}
	if c.OAuth == "admin" && c.ExternalUserID == "" && !cs.cfg.Sandbox {
		r.probs.owned(fmt.Sprintf("connection %q", c.Name), "admin connection needs a service identity (%s): set external_user_id: on the connection, --external-user-id or "+EnvExternalUserID)
	}
	for _, g := range append(slices.Clone(c.Include), c.Exclude...) {
		if _, err := path.Match(g, ""); err != nil {
			r.probs.add("invalid action glob %q (%s): use path.Match syntax, e.g. slack-send-*", g, where)
		}
	}
	cs.out = append(cs.out, c)
}

// ownerCredentials resolves the credentials of one connection or workflow. The
// sandbox needs none (main points the client at the embedded fake), so they stay
// empty there and are not checked.
func (r *resolver) ownerCredentials(cfg *Config, owner string, layers []credLayer) Credentials {
	if cfg.Sandbox {
		return Credentials{Environment: sandboxEnvironment}
	}
	return r.credentials(owner, layers, true)
}
