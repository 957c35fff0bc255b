package app

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestFirstHourCLI: the surprises a new user met in the first hour.
func TestFirstHourCLI(t *testing.T) {
	t.Parallel()
	version := runCLI(t, nil, "", "version")
	if version.code != 0 || !strings.HasPrefix(version.stdout, "pipedream-mcp ") {
		t.Fatalf("version: %s", version)
	}
	for _, args := range [][]string{{"--version"}, {"version", "--sandbox"}} {
		if r := runCLI(t, nil, "", args...); r.code != 0 || r.stdout != version.stdout {
			t.Errorf("%q: want the version line, got %s", args, r)
		}
	}

	r := runCLI(t, nil, "", "--help")
	commands, flags := strings.Index(r.stdout, "Commands:"), strings.Index(r.stdout, "-transport")
	if r.code != 0 || r.stderr != "" || commands < 0 || flags < commands {
		t.Errorf("--help: want the commands then the flags on stdout, got %s", r)
	}

	r = runCLI(t, nil, "", "call", "--sandbox", "--json", "github_get_repository", `{"repoFullname":"acme/widgets"}`)
	var res struct {
		IsError           bool           `json:"isError"`
		StructuredContent map[string]any `json:"structuredContent"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 0 || res.StructuredContent["status"] != "success" {
		t.Errorf("call --json: %v, %s", err, r)
	}
}
