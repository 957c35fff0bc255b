package app

import (
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version and commit are set at build time:
//
//	go build -ldflags "-X github.com/pipedream-mcp/pipedream-mcp/server/app.version=v1.2.3 -X github.com/pipedream-mcp/pipedream-mcp/server/app.commit=abc1234"
//
// Without them, the module version (go install) and the VCS revision recorded
// by the Go toolchain are used when available.
var (
	version = ""
	commit  = ""
)

func init() {
	info, ok := debug.ReadBuildInfo()
	if version == "" {
		version = "dev"
		if ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
			version = info.Main.Version
		}
	}
	if commit == "" {
		commit = "unknown"
		if ok {
			for _, s := range info.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 7 {
					commit = s.Value[:7]
				}
			}
		}
	}
}

func versionLine() string {
	return fmt.Sprintf("pipedream-mcp %s (%s, %s)", version, commit, runtime.Version())
}

func cmdVersion(env *cmdEnv, args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	// Accepted like every command's, and changes nothing: the version needs no
	// configuration.
	fs.Bool("sandbox", false, "accepted for symmetry with the other commands; ignored")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: pipedream-mcp version\n\nPrints the version, commit and Go version (also: pipedream-mcp --version). Needs no configuration.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return errSilent(0)
		}
		return &exitError{code: 2, err: err}
	}
	fmt.Fprintln(env.stdout, versionLine())
	return nil
}
