// Command pipedream-mcp is an MCP server that gives LLM agents the actions of any
// Pipedream app as typed tools, run for each end user through Pipedream Connect.
//
// Run `pipedream-mcp --sandbox` to try it without an account, and
// `pipedream-mcp help` for the commands. Everything but the process itself
// (signals, arguments, environment, exit status) lives in server/app.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/pipedream-mcp/pipedream-mcp/server/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := app.Run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(app.ExitCode(err, os.Stderr))
}
