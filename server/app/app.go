// Package app is the composition root of pipedream-mcp: configuration,
// logging, the commands, and the wiring of server, tools and pdclient. It
// knows no Pipedream wire details (pdclient does) and no MCP protocol details
// (server does). The whole-binary tests live here too.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pipedream-mcp/pipedream-mcp/server/app/config"
)

// exitError carries an exit status: 1 when a command's work failed, 2 for bad
// usage or configuration.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, a...)}
}

func failf(format string, a ...any) error {
	return &exitError{code: 1, err: fmt.Errorf(format, a...)}
}

// errSilent is an exit status whose message was already printed.
type errSilent int

func (e errSilent) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// ExitCode prints err (if any) to stderr and maps it to the process exit
// status: 0 for nil, 2 for bad usage or configuration, 1 for anything else.
func ExitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var s errSilent
	if errors.As(err, &s) {
		return int(s)
	}
	fmt.Fprintln(stderr, "pipedream-mcp:", err)
	var ce *config.Error
	if errors.As(err, &ce) {
		return 2
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// Run is the whole program: it parses the command line and runs one command
// until ctx ends. getenv, stdin, stdout and stderr stand for the process's own.
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	env := &cmdEnv{ctx: ctx, getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if cmd == "serve" && len(args) > 0 {
		switch args[0] {
		case "--version", "-version":
			cmd, args = "version", args[1:]
		case "--help", "-help", "-h":
			// The commands first, then the server's flags, on stdout.
			printUsage(stdout)
			fmt.Fprintln(stdout)
			env.stderr = stdout
		}
	}
	c, ok := commandTable()[cmd]
	if !ok {
		if cmd == "help" {
			printUsage(stdout)
			return nil
		}
		printUsage(stderr)
		return usageErrorf("unknown command %q", cmd)
	}
	return c.run(env, args)
}

// cmdEnv is what every command runs with.
type cmdEnv struct {
	ctx            context.Context
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
}

// command is one subcommand.
type command struct {
	summary string
	run     func(env *cmdEnv, args []string) error
}

// commandTable returns every command by name.
func commandTable() map[string]command {
	commands := map[string]command{
		"serve":   {"run the MCP server (the default command)", cmdServe},
		"version": {"print the version", cmdVersion},
		// Hidden (not in commandOrder): the fake Connect API out of process,
		// for benchmarks and load tests.
		"sandbox-api": {"serve the simulated Connect API (benchmarks)", cmdSandboxAPI},
	}
	registerPeopleCommands(commands)
	return commands
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, `pipedream-mcp: Pipedream Connect actions as MCP tools.

Usage:
  pipedream-mcp [serve] [flags]        run the MCP server (stdio by default)
  pipedream-mcp <command> [flags]

Commands:
`)
	commands := commandTable()
	for _, name := range commandOrder {
		if c, ok := commands[name]; ok {
			fmt.Fprintf(w, "  %-10s %s\n", name, c.summary)
		}
	}
	fmt.Fprintf(w, `
Try it without an account:
  pipedream-mcp --sandbox
Run "pipedream-mcp <command> --help" for a command's flags.
`)
}

var commandOrder = []string{"serve", "tools", "call", "apps", "accounts", "doctor", "version"}
