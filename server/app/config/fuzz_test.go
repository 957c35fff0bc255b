package config

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Secrets in the environment of FuzzResolveConfig; no problem or warning may
// show them, whatever the file says.
const (
	fuzzClientSecret = "fuzz-client-secret-PLANTED-93f1"
	fuzzJWTSecret    = "fuzz-jwt-secret-PLANTED-0123456789abcdef0123"
	fuzzBearerToken  = "fuzz-bearer-token-PLANTED-77aa"
)

// FuzzResolveConfig: any config file either resolves to a usable
// configuration or fails with problems that each say something; nothing
// panics, resolving is deterministic, and no secret from the environment
// appears in a problem, a warning or the configuration's log form.
func FuzzResolveConfig(f *testing.F) {
	for _, name := range []string{"testdata/config/example.yaml", "testdata/config/workflows.yaml"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"", "connections: []", "connections:\n  - app: slack\n", "[1, 2]", "a: &a [*a]",
		"connections:\n  - app: slack\n    client_secret: ${PIPEDREAM_CLIENT_SECRET}\n    include: [\"slack-*\"]\n",
		"connections:\n  - app: github\n    oauth: admin\n    external_user_id: bot\n    read_only: true\n  - app: github\n    name: gh2\n",
		"workflows:\n  - name: wf\n    endpoint: en123abc\n    auth: bearer\n    bearer_token: ${FUZZ_BEARER}\nworkflow_domain: m.pipedream.net\n",
		"call_timeout: 1s\nresult_limit: 64KiB\ncatalog_ttl: -1m\ntransport: sse\naddr: 0.0.0.0:1\nauth: jwt\n",
		"connections:\n  - app: ${UNSET_VAR}\n    environment: staging\n    project_id: nope\n",
		"sandbox: true\nexternal_user_id: \"\"\n",
	} {
		f.Add([]byte(s))
	}
	env := map[string]string{
		EnvClientID:         "fuzz-client",
		EnvClientSecret:     fuzzClientSecret,
		EnvProjectID:        "proj_fuzz",
		EnvEnvironment:      "development",
		EnvExternalUserID:   "fuzz-user",
		EnvJWTSecret:        fuzzJWTSecret,
		"SHEETS_PROJECT_ID": "proj_sheets", "SHEETS_CLIENT_ID": "sheets-client",
		"SHEETS_CLIENT_SECRET": fuzzClientSecret + "-sheets", "FUZZ_BEARER": fuzzBearerToken,
	}
	// One file, rewritten for every input: a worker runs its inputs one at a
	// time, and a fresh directory per input slows fuzzing tenfold.
	name := filepath.Join(f.TempDir(), "config.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		// File paths in the config are opened; keep clear of devices that
		// block (FIFOs, terminals).
		for _, dev := range []string{"/dev", "/proc", "/sys"} {
			if bytes.Contains(data, []byte(dev)) {
				return
			}
		}
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
		resolve := func() (*Config, error) {
			fs := flag.NewFlagSet("fuzz", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			cf := RegisterFlags(fs)
			if err := fs.Parse([]string{"--config", name}); err != nil {
				t.Fatal(err)
			}
			return Resolve(cf, func(k string) string { return env[k] }, testSandboxApps)
		}
		cfg, err := resolve()
		again, err2 := resolve()
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) || !reflect.DeepEqual(cfg, again) {
			t.Fatalf("not deterministic:\n%v\n%v", err, err2)
		}
		secrets := []string{fuzzClientSecret, fuzzJWTSecret, fuzzBearerToken}
		checkLeaks := !bytes.Contains(data, []byte("PLANTED")) && !misplacedSecret(data)
		leaks := func(what, s string) {
			for _, secret := range secrets {
				if checkLeaks && strings.Contains(s, secret) {
					t.Fatalf("%s shows a secret: %q", what, s)
				}
			}
		}
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("want a *Error with problems, got %T %v", err, err)
			}
			for _, p := range ce.Problems {
				if strings.TrimSpace(p) == "" {
					t.Fatal("an empty problem")
				}
			}
			leaks("the error", err.Error())
			return
		}
		for _, w := range cfg.Warnings {
			leaks("a warning", w)
		}
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", cfg)
		leaks("the logged configuration", buf.String())
		switch cfg.Transport {
		case "stdio", "sse", "http":
		default:
			t.Fatalf("transport %q", cfg.Transport)
		}
		if cfg.CallTimeout <= 0 || cfg.CatalogTTL <= 0 || cfg.ResultLimit <= 0 || cfg.ShutdownTimeout <= 0 {
			t.Fatalf("a non-positive limit: %+v", cfg)
		}
		names := map[string]bool{}
		for _, c := range cfg.Connections {
			if c.App == "" || c.Name == "" || names[c.Name] {
				t.Fatalf("connection %+v: empty or duplicate app or name", c.LogValue())
			}
			names[c.Name] = true
			if c.OAuth == "admin" && c.ExternalUserID == "" {
				t.Fatalf("admin connection %s without a service identity", c.Name)
			}
			if !cfg.Sandbox && (c.Credentials.ClientID == "" || c.Credentials.ClientSecret == "" || c.Credentials.ProjectID == "") {
				t.Fatalf("connection %s without credentials", c.Name)
			}
		}
	})
}

// misplacedSecret reports whether the file puts a variable that holds a secret
// into a setting that is not secret (app: ${PIPEDREAM_CLIENT_SECRET}): a
// problem with that setting may then quote it, as the file asked.
func misplacedSecret(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.Contains(line, "${") {
			continue
		}
		key := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), "- "))
		if strings.HasPrefix(key, "client_secret:") || strings.HasPrefix(key, "bearer_token:") {
			continue
		}
		for _, v := range []string{EnvClientSecret, EnvJWTSecret, "SHEETS_CLIENT_SECRET", "FUZZ_BEARER"} {
			if strings.Contains(line, v) {
				return true
			}
		}
	}
	return false
}
