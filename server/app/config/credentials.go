// This file resolves OAuth credentials and secret files, layer by layer.

package config

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
)

type secretRead struct {
	val  string
	err  string // problem text without the owner, empty when read
	warn string // mode warning, empty when only the owner may read it
}

// credLayer is one place credentials can come from.
type credLayer struct {
	clientID, secret, secretFile, projectID, environment, baseURL sourced
}

// defaultLayers are the credential sources below a connection's own: flags, then
// environment, then the file's top level.
func (r *resolver) defaultLayers() []credLayer {
	cf, f := r.cf, r.file
	return []credLayer{
		{
			clientID:    r.flagVal("client-id", cf.clientID),
			projectID:   r.flagVal("project-id", cf.projectID),
			environment: r.flagVal("environment", cf.environment),
			baseURL:     r.flagVal("base-url", cf.baseURL),
		},
		{
			clientID:    r.envVal(EnvClientID),
			secret:      sourced{r.getenv(EnvClientSecret), EnvClientSecret},
			secretFile:  r.envVal(EnvClientSecretFile),
			projectID:   r.envVal(EnvProjectID),
			environment: r.envVal(EnvEnvironment),
			baseURL:     r.envVal(EnvBaseURL),
		},
		r.fileLayer(f.fileCredentials, ""),
	}
}

// fileLayer is the credentials of a file section; where names the section in sources.
func (r *resolver) fileLayer(c fileCredentials, where string) credLayer {
	src := func(key string) string {
		if where == "" {
			return key + ": in the config file"
		}
		return key + ": of " + where + " in the config file"
	}
	return credLayer{
		clientID:    sourced{c.ClientID, src("client_id")},
		secret:      sourced{c.ClientSecret, src("client_secret")},
		secretFile:  sourced{r.filePath(c.ClientSecretFile), src("client_secret_file")},
		projectID:   sourced{c.ProjectID, src("project_id")},
		environment: sourced{c.Environment, src("environment")},
		baseURL:     sourced{c.BaseURL, src("base_url")},
	}
}

// credentials resolves and validates the credentials of owner from layers, first
// wins. With required false, missing values are left empty without a problem.
func (r *resolver) credentials(owner string, layers []credLayer, required bool) Credentials {
	pick := func(get func(credLayer) sourced) sourced {
		vals := make([]sourced, len(layers))
		for i, l := range layers {
			vals[i] = get(l)
		}
		return first(vals...)
	}
	id := pick(func(l credLayer) sourced { return l.clientID })
	project := pick(func(l credLayer) sourced { return l.projectID })
	env := pick(func(l credLayer) sourced { return l.environment })
	base := pick(func(l credLayer) sourced { return l.baseURL })
	c := Credentials{ClientID: id.val, ProjectID: project.val, Environment: env.val, BaseURL: base.val}
	if c.BaseURL == "" {
		c.BaseURL = defaultBaseURL
	}
	for _, l := range layers {
		if l.secret.val != "" || l.secretFile.val != "" {
			c.ClientSecret = r.secret(owner, l.secret, l.secretFile)
			break
		}
	}
	if !required {
		return c
	}

	r.checkCredentials(owner, c, layers, project.src, env.src, base.src)
	return c
}

// checkCredentials adds a problem, owned by owner, for each credential that
// is missing or invalid; the src arguments say where each value came from.
func (r *resolver) checkCredentials(owner string, c Credentials, layers []credLayer, projectSrc, envSrc, baseSrc string) {
	missing := func(variable, flagName, key, note string) {
		r.probs.owned(owner, fmt.Sprintf("%s is not set (%%s): set the environment variable, %s, or %s: in the config file%s", variable, flagName, key, note))
	}
	if c.ClientID == "" {
		missing(EnvClientID, "--client-id", "client_id", "")
	}
	if c.ClientSecret == "" && !r.hasSecretSource(layers) {
		r.probs.owned(owner, fmt.Sprintf("%s is not set (%%s): set it or %s, or client_secret: or client_secret_file: in the config file (there is no flag, so the secret stays out of process lists)", EnvClientSecret, EnvClientSecretFile))
	}
	if c.ProjectID == "" {
		missing(EnvProjectID, "--project-id", "project_id", "")
	} else if !projectIDPattern.MatchString(c.ProjectID) {
		r.probs.owned(owner, fmt.Sprintf("invalid project ID %q (from %s, %%s): it looks like proj_abc123 (Pipedream project settings)", c.ProjectID, projectSrc))
	}
	if c.Environment == "" {
		missing(EnvEnvironment, "--environment", "environment", " (development or production)")
	} else if c.Environment != "development" && c.Environment != "production" {
		r.probs.owned(owner, fmt.Sprintf("invalid environment %q (from %s, %%s): use development or production", c.Environment, envSrc))
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		shown := c.BaseURL
		if err == nil {
			shown = u.Redacted()
		}
		r.probs.owned(owner, fmt.Sprintf("invalid base URL %q (from %s, %%s): use an http:// or https:// origin such as %s", shown, baseSrc, defaultBaseURL))
	}
}

// hasSecretSource reports whether any layer names a client secret or a file
// holding one (an unreadable file is reported on its own).
func (r *resolver) hasSecretSource(layers []credLayer) bool {
	for _, l := range layers {
		if l.secret.val != "" || l.secretFile.val != "" {
			return true
		}
	}
	return false
}

// secret returns the secret given directly or read from a file (trailing newlines
// trimmed). Giving both is a problem; a file others can read is a warning. Neither
// message ever holds the secret. owner is empty for process-wide secrets.
func (r *resolver) secret(owner string, direct, file sourced) string {
	if direct.val != "" && file.val != "" {
		r.probs.ownedText(owner, fmt.Sprintf("both %s and %s are set: set only one", direct.src, file.src))
		return ""
	}
	if file.val == "" {
		return direct.val
	}
	got, ok := r.secrets[file.val]
	if !ok {
		got = readSecret(file)
		r.secrets[file.val] = got
	}
	if got.warn != "" {
		r.warn("%s", got.warn)
	}
	if got.err != "" {
		r.probs.ownedText(owner, got.err)
	}
	return got.val
}

// readSecret reads a secret file; its problem and warning are kept for every owner
// that names the same file.
func readSecret(file sourced) secretRead {
	fh, err := os.Open(file.val)
	if err != nil {
		return secretRead{err: fmt.Sprintf("cannot read the secret file from %s: %v", file.src, err)}
	}
	defer fh.Close()
	var sr secretRead
	sr.warn = modeWarning(fh, file.val, file.src)
	data, err := io.ReadAll(io.LimitReader(fh, 1<<20))
	if err != nil {
		sr.err = fmt.Sprintf("cannot read the secret file from %s: %v", file.src, err)
		return sr
	}
	sr.val = strings.TrimRight(string(data), "\r\n")
	if sr.val == "" {
		sr.err = fmt.Sprintf("the secret file %s (from %s) is empty", file.val, file.src)
	}
	return sr
}

// sandboxEnvironment warns when an environment other than development was asked for.
func (r *resolver) sandboxEnvironment(layers []credLayer) {
	for _, l := range layers {
		if e := l.environment; e.val != "" && e.val != sandboxEnvironment {
			r.warn("--sandbox always uses the %s environment; ignoring %q from %s", sandboxEnvironment, e.val, e.src)
		}
	}
	for _, c := range r.file.Connections {
		if c.Environment != "" && c.Environment != sandboxEnvironment {
			r.warn("--sandbox always uses the %s environment; ignoring %q of connection %q", sandboxEnvironment, c.Environment, firstOf(c.Name, c.App))
		}
	}
}

// firstOf returns the first non-empty string.
func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
