// Package tools builds MCP tools from Pipedream Connect connections: one tool per
// action of each connection's app, plus the server-wide pipedream_* helpers, and
// the handlers that run them for the right end user: argument validation, account
// resolution, Connect Links, remote options, dynamic props, the run itself and the
// shaping of its result, File Stash files included. It also owns configured
// workflows as tools, pipedream_proxy_request (an app's own API through the
// Connect proxy, opt-in per connection) and the Connect webhook handler. It knows nothing of transports: the server package
// mounts what this package builds.
package tools
