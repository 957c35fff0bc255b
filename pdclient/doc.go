// Package pdclient is the Pipedream Connect REST client: OAuth client credentials,
// the x-pd-environment header, pagination, typed errors, retries, caching and
// lenient decoding of the API's wire shapes. It knows nothing of MCP.
package pdclient
