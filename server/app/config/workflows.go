// This file resolves the workflows served as tools, and their input schemas.

package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pipedream-mcp/pipedream-mcp/schema"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// workflowDomain resolves workflow_domain: one host, compared without the port.
func (r *resolver) workflowDomain() string {
	d := strings.ToLower(strings.TrimSpace(r.file.WorkflowDomain))
	if d == "" {
		return defaultWorkflowDomain
	}
	host := d
	if h, _, err := net.SplitHostPort(d); err == nil {
		host = h
	}
	if strings.ContainsAny(d, "/@?# ") || strings.Contains(host, ":") && net.ParseIP(host) == nil || host == "" {
		r.probs.add("invalid workflow_domain: %q in the config file: give one host name such as %s (no scheme or path)", r.file.WorkflowDomain, defaultWorkflowDomain)
		return defaultWorkflowDomain
	}
	return host
}

// workflows builds the workflows: list of the file.
func (r *resolver) workflows(cfg *Config, defaults []credLayer) []Workflow {
	var out []Workflow
	seen := map[string]bool{}
	for i, fw := range r.file.Workflows {
		where := fmt.Sprintf("workflows item %d of the config file", i+1)
		w := Workflow{
			Name:        fw.Name,
			Description: fw.Description,
			OAuth:       strings.ToLower(firstOf(fw.OAuth, defaultOAuth)),
			Auth:        strings.ToLower(firstOf(fw.Auth, defaultWorkflowAuth)),
		}
		r.workflowName(w.Name, where, seen)
		seen[w.Name] = true
		if w.Name != "" {
			where = fmt.Sprintf("workflow %q", w.Name)
		}
		w.Endpoint = r.workflowEndpoint(fw.Endpoint, cfg.WorkflowDomain, where)
		r.workflowIdentity(&w, fw, cfg, where)
		r.workflowAuth(&w, fw, cfg, defaults, where)
		if fw.InputSchema.Kind != 0 {
			w.InputSchema = r.inputSchema(&fw.InputSchema, where)
		}
		out = append(out, w)
	}
	return out
}

// workflowName checks a workflow's name: a tool name, not a helper's, not
// taken by an earlier workflow.
func (r *resolver) workflowName(name, where string, seen map[string]bool) {
	switch {
	case name == "":
		r.probs.add("%s has no name: set name: to the tool name (1 to 64 of a-z, A-Z, 0-9, _ and -)", where)
	case !tools.ValidToolName(name):
		r.probs.add("invalid workflow name %q (%s): use 1 to 64 of a-z, A-Z, 0-9, _ and -", name, where)
	case tools.IsHelper(name):
		r.probs.add("workflow name %q (%s) is taken by a built-in tool: choose another name", name, where)
	case seen[name]:
		r.probs.add("workflow name %q is used twice: give each workflow its own name", name)
	}
}

// workflowIdentity resolves whom a workflow runs as (oauth: user or admin).
func (r *resolver) workflowIdentity(w *Workflow, fw fileWorkflow, cfg *Config, where string) {
	switch w.OAuth {
	case "admin":
		w.ExternalUserID = firstOf(fw.ExternalUserID, cfg.ExternalUserID)
		if w.ExternalUserID == "" && !cfg.Sandbox {
			r.probs.add("admin workflow needs a service identity (%s): set external_user_id: on the workflow, --external-user-id or %s", where, EnvExternalUserID)
		}
	case "user":
	default:
		r.probs.add("invalid oauth %q (%s): use user or admin", fw.OAuth, where)
	}
}

// workflowAuth resolves how a workflow's trigger is protected, and the
// credentials or bearer token it sends.
func (r *resolver) workflowAuth(w *Workflow, fw fileWorkflow, cfg *Config, defaults []credLayer, where string) {
	bearerSet := fw.BearerToken != "" || fw.BearerTokenFile != ""
	switch w.Auth {
	case "oauth":
		layers := append([]credLayer{r.fileLayer(fw.fileCredentials, where)}, defaults...)
		w.Credentials = r.ownerCredentials(cfg, where, layers)
	case "bearer":
		w.BearerToken = r.secret(where,
			sourced{fw.BearerToken, "bearer_token:"},
			sourced{r.filePath(fw.BearerTokenFile), "bearer_token_file:"})
		if !bearerSet {
			r.probs.add("auth: bearer needs a token (%s): set bearer_token: (e.g. ${WORKFLOW_TOKEN}) or bearer_token_file:", where)
		}
	case "none":
	default:
		r.probs.add("invalid auth %q (%s): use oauth, bearer or none", fw.Auth, where)
	}
	if bearerSet && w.Auth != "bearer" {
		r.warn("bearer_token: of %s is ignored: it is used only with auth: bearer", where)
	}
	if w.Auth != "oauth" {
		// No credentials, but the workflow still receives X-PD-Environment.
		w.Environment = first(sourced{fw.Environment, ""}, r.flagVal("environment", r.cf.environment), r.envVal(EnvEnvironment), sourced{r.file.Environment, ""}).val
		if cfg.Sandbox {
			w.Environment = sandboxEnvironment
		}
	}
}

// workflowEndpoint expands an endpoint ID onto the domain and checks a URL's host.
func (r *resolver) workflowEndpoint(ep, domain, where string) string {
	if ep == "" {
		r.probs.add("%s has no endpoint: set endpoint: to the workflow's URL or its endpoint ID (en...)", where)
		return ""
	}
	scheme := "https"
	if IsLoopbackHost(domain) {
		scheme = "http"
	}
	if workflowIDPattern.MatchString(ep) {
		return scheme + "://" + ep + "." + domain
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		r.probs.add("invalid endpoint %q (%s): use the workflow's https:// URL or its endpoint ID (en...)", ep, where)
		return ""
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case host != domain && !strings.HasSuffix(host, "."+domain):
		r.probs.add("endpoint host %q (%s) is not on the workflow domain %s: use a workflow URL, or set workflow_domain: in the config file", host, where, domain)
	case u.Scheme != "https" && !IsLoopbackHost(host):
		r.probs.add("endpoint %q (%s) must use https:// (http:// only on a loopback host)", u.Redacted(), where)
	case u.User != nil:
		r.probs.add("endpoint of %s must not hold credentials: use auth: bearer with bearer_token_file:", where)
	}
	return ep
}

// inputSchema converts a YAML mapping to JSON and checks that it is a JSON Schema of
// an object.
func (r *resolver) inputSchema(n *yaml.Node, where string) json.RawMessage {
	if n.Kind != yaml.MappingNode {
		r.probs.add("config file line %d: input_schema of %s must be a mapping (a JSON Schema with type: object)", n.Line, where)
		return nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		r.probs.add("config file line %d: input_schema of %s: %v", n.Line, where, err)
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		r.probs.add("config file line %d: input_schema of %s cannot be JSON (keys must be strings): %v", n.Line, where, err)
		return nil
	}
	_, err = schema.CompileInputSchema(b)
	var ce *schema.CompileError
	switch {
	case errors.Is(err, schema.ErrNotObject):
		r.probs.add("config file line %d: input_schema of %s must have type: object (the tool's arguments are the request body)", n.Line, where)
	case errors.As(err, &ce):
		r.probs.add("config file line %d: input_schema of %s is not a valid JSON Schema: %s", n.Line, where, strings.Join(ce.Problems, "; "))
	case err != nil:
		r.probs.add("config file line %d: input_schema of %s: %v", n.Line, where, err)
	default:
		return b
	}
	return nil
}
