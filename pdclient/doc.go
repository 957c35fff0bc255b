// Package pdclient is the Pipedream Connect REST client: OAuth client
// credentials, the x-pd-environment header, pagination, typed errors, retries,
// caching and lenient decoding of the API's wire shapes. It knows nothing of
// MCP.
//
// A Client serves one project and environment:
//
//	c, err := pdclient.New(pdclient.Config{
//		ClientID:     os.Getenv("PIPEDREAM_CLIENT_ID"),
//		ClientSecret: os.Getenv("PIPEDREAM_CLIENT_SECRET"),
//		ProjectID:    os.Getenv("PIPEDREAM_PROJECT_ID"),
//		Environment:  os.Getenv("PIPEDREAM_PROJECT_ENVIRONMENT"),
//		Version:      version,
//	}, pdclient.WithLogger(logger))
//	...
//	actions, err := c.ListActions(ctx, "slack", pdclient.RegistryAll)
//
// # Authentication
//
// Access tokens come from the client-credentials grant at
// {BaseURL}/v1/oauth/token (golang.org/x/oauth2/clientcredentials, credentials
// as form parameters). A token is cached and replaced 2 minutes before it
// expires (half its lifetime when that is short); concurrent callers share one
// fetch, which runs on the client's own context so that a caller giving up
// does not fail it for the others. A 401 from the API refreshes the token and
// sends the request once more; a 401 means the request was not acted on, so
// this holds for actions/run too.
//
// Every Connect request carries Authorization: Bearer, x-pd-environment and
// User-Agent "pipedream-mcp/<Version>", and Content-Type: application/json
// when it has a body. The access token goes only to requests under the base
// URL (its origin and path).
//
// # Redirects
//
// No request follows a redirect to another origin (scheme, host and port):
// API requests follow redirects only within the base URL's origin
// (SameOriginRedirects), and the token request, which carries the client
// secret, follows none (NoRedirects). The policy is set on pdclient's copies
// of the HTTP client, one given with WithHTTPClient included. A refused
// redirect fails the call with a *RedirectError (ErrRedirectRefused) that
// names only the origins, before anything is sent to the redirect's target.
//
// # Bounds
//
// A successful response is read up to 32 MiB (past it: ErrResponseTooLarge),
// an error body up to 64 KiB. A listing (every page of an app's actions or a
// user's accounts; one page of apps or of a prop's options) stops past
// Config.MaxListItems items (default 10,000) or Config.MaxListBytes bytes
// (default 64 MiB) with a *ListingTooLargeError (ErrListingTooLarge); the
// client never reads past the byte bound, and a listing it stopped is never
// cached, so the last good catalog stays in the cache.
//
// # Errors
//
// An HTTP error answer is an *APIError (token endpoint included); match its
// class with errors.Is and ErrNotFound, ErrUnauthorized or ErrRateLimited. A
// refused redirect is a *RedirectError, a listing past its bounds a
// *ListingTooLargeError.
// Component failures the API reports with HTTP 200 (errors[] of configure and
// props, error observations of a run) are a *ComponentError returned together
// with the decoded, non-nil response. A call whose context ends returns an
// error that matches context.Canceled or context.DeadlineExceeded. Errors and
// log lines never hold the client secret, an access token or a Connect token.
//
// # Retries
//
// Reads, and configure and props calls, are retried on 408, 429, 5xx and
// dropped connections, waiting as Retry-After asks or with jittered exponential
// backoff, within the bounds of the RetryPolicy and the context's deadline.
// actions/run is retried only on 429 and when the request was never sent,
// unless the request is marked Idempotent. Proxy requests and File Stash
// downloads are sent once.
//
// # Caching
//
// App metadata and action catalogs are cached for Config.CatalogTTL, account
// lists for Config.AccountsTTL (InvalidateAccounts drops them early). Cache
// keys include the project and environment; concurrent misses share one
// upstream request.
package pdclient
