// Package pdtest owns the in-process fake of the Pipedream Connect API and the
// catalog it serves. The fake is an http.Handler that follows the wire contract of
// connect-api.md (paths, field names, status codes, error bodies and the drift
// forms a client must tolerate); it is used by every test and by the shipped
// --sandbox mode, so it is the only simulated part of the product.
//
// The catalog is one JSON file per app under catalog/, embedded in the binary:
//
//	{"app": App, "actions": [Component, ...], "fake": {...}}
//
// "app" and "actions" hold exactly what the API returns; "fake" holds what only the
// fake needs: remote options and how they page ("options"), the dynamic props that
// reload-props computes ("reload"), how each action behaves when run ("runs",
// with the File Stash files a run with a stash writes), and which actions are
// the workspace's own ("private": served only to registry=private and all
// listings). The "fake" block is never served.
//
// Behind the Connect proxy the fake simulates a small GitHub REST API (the
// user, repositories and their issues) for the apps whose "app" reports
// connect.proxy_enabled; ProxyRequests records what reached it.
//
// The fake also lets tests inject faults (429 storms, 5xx bursts, resets, slow or
// truncated responses, list pages whose cursors never end), count requests per endpoint, inspect the bodies of run
// requests, rotate client secrets and expire access tokens.
package pdtest
