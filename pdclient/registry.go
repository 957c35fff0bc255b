package pdclient

import (
	"fmt"
	"slices"
	"strings"
)

// Registry selects whose actions a listing returns: Pipedream's public
// registry, the workspace's own published (private) actions, or both.
type Registry string

// The registries of GET /v1/connect/{project_id}/actions?registry=.
const (
	RegistryPublic  Registry = "public"
	RegistryPrivate Registry = "private"
	RegistryAll     Registry = "all"
)

// Registries are the valid registries, RegistryAll (the default) first.
var Registries = []Registry{RegistryAll, RegistryPublic, RegistryPrivate}

// CheckRegistry reports whether name is a registry, with an error that lists
// the valid ones.
func CheckRegistry(name string) error {
	if slices.Contains(Registries, Registry(name)) {
		return nil
	}
	names := make([]string, len(Registries))
	for i, r := range Registries {
		names[i] = string(r)
	}
	return fmt.Errorf("%q is not a registry: use %s", name, strings.Join(names, ", "))
}

// orAll is r, RegistryAll when empty, or an error for an unknown registry.
func (r Registry) orAll() (Registry, error) {
	if r == "" {
		return RegistryAll, nil
	}
	if err := CheckRegistry(string(r)); err != nil {
		return "", err
	}
	return r, nil
}
