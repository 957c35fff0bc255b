// Package config resolves the configuration of one run of pipedream-mcp from
// flags, environment variables (the Pipedream SDKs' names) and a YAML file,
// with secret files and ${VAR} expansion. Resolve reports every problem at
// once in an *Error, which the commands map to exit status 2; nothing here
// talks to Pipedream or serves anything.
package config
