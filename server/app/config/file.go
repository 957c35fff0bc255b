// This file reads the YAML configuration file: its shape, ${VAR} expansion and
// unknown-key checks.

package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fileConfig is the YAML file. Top-level settings mirror the flags; flags and
// environment variables beat them.
type fileConfig struct {
	Connections    []fileConnection `yaml:"connections"`
	Workflows      []fileWorkflow   `yaml:"workflows"`
	WorkflowDomain string           `yaml:"workflow_domain"`

	Transport       string `yaml:"transport"`
	Addr            string `yaml:"addr"`
	PublicURL       string `yaml:"public_url"`
	LogLevel        string `yaml:"log_level"`
	LogFormat       string `yaml:"log_format"`
	Sandbox         *bool  `yaml:"sandbox"`
	CallTimeout     string `yaml:"call_timeout"`
	ConnectWait     string `yaml:"connect_wait"`
	ResultLimit     string `yaml:"result_limit"`
	ToolMode        string `yaml:"tool_mode"`
	Confirm         string `yaml:"confirm_destructive"`
	SchemaProfile   string `yaml:"schema_profile"`
	MaxListItems    string `yaml:"max_list_items"`
	MaxListBytes    string `yaml:"max_list_bytes"`
	CatalogTTL      string `yaml:"catalog_ttl"`
	ShutdownTimeout string `yaml:"shutdown_timeout"`
	ExternalUserID  string `yaml:"external_user_id"`
	TrustClientUser *bool  `yaml:"trust_client_user"`
	Auth            string `yaml:"auth"`
	APIKeysFile     string `yaml:"api_keys_file"`
	JWKSURL         string `yaml:"jwks_url"`
	JWTIssuer       string `yaml:"jwt_issuer"`
	JWTAudience     string `yaml:"jwt_audience"`
	UserClaim       string `yaml:"user_claim"`
	WebhookSecret   string `yaml:"webhook_secret"`
	TLSCert         string `yaml:"tls_cert"`
	TLSKey          string `yaml:"tls_key"`
	MetricsAddr     string `yaml:"metrics_addr"`
	Pprof           *bool  `yaml:"pprof"`

	fileCredentials `yaml:",inline"`
	fileScaleOut    `yaml:",inline"`
}

type fileCredentials struct {
	ClientID         string `yaml:"client_id"`
	ClientSecret     string `yaml:"client_secret"`
	ClientSecretFile string `yaml:"client_secret_file"`
	ProjectID        string `yaml:"project_id"`
	Environment      string `yaml:"environment"`
	BaseURL          string `yaml:"base_url"`
}

type fileConnection struct {
	App            string   `yaml:"app"`
	Name           string   `yaml:"name"`
	OAuth          string   `yaml:"oauth"`
	ExternalUserID string   `yaml:"external_user_id"`
	Include        []string `yaml:"include"`
	Exclude        []string `yaml:"exclude"`
	ReadOnly       bool     `yaml:"read_only"`
	Confirm        string   `yaml:"confirm_destructive"`
	Registry       string   `yaml:"registry"`
	Proxy          bool     `yaml:"proxy"`
	ProxyMethods   []string `yaml:"proxy_methods"`
	IncludeApps    []string `yaml:"include_apps"`
	ExcludeApps    []string `yaml:"exclude_apps"`

	fileCredentials `yaml:",inline"`
}

type fileWorkflow struct {
	Name            string    `yaml:"name"`
	Endpoint        string    `yaml:"endpoint"`
	Description     string    `yaml:"description"`
	InputSchema     yaml.Node `yaml:"input_schema"`
	OAuth           string    `yaml:"oauth"`
	ExternalUserID  string    `yaml:"external_user_id"`
	Auth            string    `yaml:"auth"`
	BearerToken     string    `yaml:"bearer_token"`
	BearerTokenFile string    `yaml:"bearer_token_file"`

	fileCredentials `yaml:",inline"`
}

// loadFile reads, expands and decodes the config file into r.file.
func (r *resolver) loadFile(name string) {
	data, err := os.ReadFile(name)
	if err != nil {
		r.fileFailed = true
		r.probs.add("cannot read the config file (--config): %v", err)
		return
	}
	r.fileDir = filepath.Dir(name)
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		r.fileFailed = true
		r.probs.add("config file %s is not valid YAML: %v", name, err)
		return
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return // an empty file configures nothing
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		r.fileFailed = true
		r.probs.add("config file %s line %d: the top level must be a mapping (connections:, workflows:, ...)", name, root.Line)
		return
	}
	r.expand(root)
	checkKeys(root, reflect.TypeFor[fileConfig](), "the top level", &r.probs)
	// Decode even after a problem, so the rest of the file is checked too.
	if err := root.Decode(r.file); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, e := range te.Errors {
				r.probs.add("config file %s", e)
			}
		} else {
			r.probs.add("config file: %v", err)
		}
	}
}

// expand replaces ${VAR} in every scalar value (not keys) with getenv(VAR). An unset
// or empty variable is a problem naming it and its line; $${ stands for a literal ${.
func (r *resolver) expand(n *yaml.Node) {
	switch n.Kind {
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		out, changed := r.expandString(n.Value, n.Line)
		if changed {
			n.Value = out
			if n.Style == 0 {
				n.Tag = "" // re-resolve: ${PORT} may stand for an int, ${RO} for a bool
			}
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			r.expand(n.Content[i])
		}
	default:
		for _, c := range n.Content {
			r.expand(c)
		}
	}
}

func (r *resolver) expandString(s string, line int) (string, bool) {
	var b strings.Builder
	changed := false
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), changed
		}
		changed = true
		if i > 0 && s[i-1] == '$' { // $${ is a literal ${
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			r.probs.add("config file line %d: unterminated ${ (write $${ for a literal ${)", line)
			return "", true
		}
		name := s[i+2 : i+end]
		switch {
		case !envNamePattern.MatchString(name):
			r.probs.add("config file line %d: ${%s} is not a valid variable reference (use ${NAME}, or $${ for a literal ${)", line, name)
		case r.getenv(name) == "":
			r.probs.add("config file line %d: environment variable %s is not set (used as ${%s}): set it, or edit the file", line, name, name)
			b.WriteString(s[i : i+end+1]) // keep the reference, so the value does not look missing too
		default:
			b.WriteString(r.getenv(name))
		}
		s = s[i+end+1:]
	}
}

// checkKeys reports mapping keys that no field of t (a struct) is named after, and
// recurses into nested structs and lists of structs.
func checkKeys(n *yaml.Node, t reflect.Type, where string, p *problems) {
	if n.Kind != yaml.MappingNode {
		return // the decoder reports the wrong kind
	}
	fields := yamlFields(t)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.ShortTag() == "!!merge" { // <<: *shared merges another mapping's keys
			for _, m := range append([]*yaml.Node{v}, v.Content...) {
				if m.Kind == yaml.AliasNode {
					checkKeys(m.Alias, t, where, p)
				}
			}
			continue
		}
		ft, ok := fields[k.Value]
		if !ok && t == reflect.TypeFor[fileConfig]() && strings.HasPrefix(k.Value, "x-") {
			continue // x-... at the top level holds anchors to merge, as in Compose files
		}
		if !ok {
			known := make([]string, 0, len(fields))
			for name := range fields {
				known = append(known, name)
			}
			slices.Sort(known)
			p.add("config file line %d: unknown key %q in %s (known keys: %s)", k.Line, k.Value, where, strings.Join(known, ", "))
			continue
		}
		switch {
		case ft == reflect.TypeFor[yaml.Node]():
		case ft.Kind() == reflect.Struct:
			checkKeys(v, ft, fmt.Sprintf("%s %s", where, k.Value), p)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct && v.Kind == yaml.SequenceNode:
			for j, item := range v.Content {
				checkKeys(item, ft.Elem(), fmt.Sprintf("%s item %d", strings.TrimSuffix(k.Value, "s"), j+1), p)
			}
		}
	}
}

// yamlFields maps the yaml key of every field of struct t, inlined ones included, to
// the field's type.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		out[name] = f.Type
	}
	return out
}
