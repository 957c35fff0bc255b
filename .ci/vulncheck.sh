#!/usr/bin/env bash
# govulncheck on the main module, against a pinned snapshot of the Go
# vulnerability database: fails (exit 3) when the code reaches a known
# vulnerable symbol, in a dependency or in the standard library of the
# toolchain that builds it (the one `go env GOVERSION` names in the repo root,
# i.e. after go.mod's go line has been applied under GOTOOLCHAIN=auto).
#
# vuln.go.dev is not reachable from CI, but the Go module proxy serves the
# golang.org/x/vulndb module, whose data/osv directory holds every entry. The
# pinned version (and the hash of its zip) is in .ci/vulncheck/vulndb.version;
# .ci/vulncheck/mkdb.go lays the entries out as the file database govulncheck
# reads (-db file://...), cached under ${VULNCHECK_CACHE:-$TMPDIR}. The
# govulncheck version is pinned (with go.sum) as a tool of the separate module
# .ci/vulncheck, which the main module's ./... does not include.
#
#   .ci/vulncheck.sh            run the check
#   .ci/vulncheck.sh -refresh   pin the newest x/vulndb the proxy serves
set -euo pipefail
cd "$(dirname "$0")/.."

tooldir=.ci/vulncheck
pinfile=$tooldir/vulndb.version
vulndb=golang.org/x/vulndb

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# json_field NAME: the string field NAME of the `go mod download -json` output on stdin.
json_field() { sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}\$/\1/p" | head -n 1; }

if [ "${1:-}" = "-refresh" ]; then
  # Outside any module, so the query is not resolved against one.
  version=$(cd "$scratch" && go list -m -f '{{.Version}}' "$vulndb@latest")
  sum=$(cd "$scratch" && go mod download -json "$vulndb@$version" | json_field Sum)
  [ -n "$sum" ] || { echo "vulncheck: could not download $vulndb@$version" >&2; exit 1; }
  sed -i "s|^$vulndb .*|$vulndb $version $sum|" "$pinfile"
  echo "vulncheck: pinned $vulndb $version $sum in $pinfile"
  exit 0
elif [ $# -ne 0 ]; then
  echo "usage: $0 [-refresh]" >&2
  exit 2
fi

read -r _ version want_sum < <(grep "^$vulndb " "$pinfile") || { echo "vulncheck: no $vulndb line in $pinfile" >&2; exit 1; }

# The toolchain that builds this module; govulncheck is built with the same
# one, so that its type checker understands that toolchain's standard library.
goversion=$(go env GOVERSION)
echo "vulncheck: toolchain $goversion, $vulndb $version"
case "$goversion" in
  go[0-9]*) tool_toolchain=$goversion ;;
  *) tool_toolchain=${GOTOOLCHAIN:-} ;; # a development build: use it as is
esac

cache=${VULNCHECK_CACHE:-${TMPDIR:-/tmp}/pipedream-mcp-vulncheck}
key=$(cat "$tooldir/mkdb.go" "$tooldir/go.sum" | sha256sum | cut -c1-12)
db=$cache/db-$version-$key
bin=$cache/bin-$goversion-$key
mkdir -p "$cache"

if [ ! -x "$bin/govulncheck" ] || [ ! -x "$bin/mkdb" ]; then
  GOTOOLCHAIN=$tool_toolchain go -C "$tooldir" build -o "$scratch/bin/" golang.org/x/vuln/cmd/govulncheck .
  mv "$scratch/bin/vulncheck" "$scratch/bin/mkdb"
  mv -T "$scratch/bin" "$bin" 2>/dev/null || true # a concurrent run may have won
fi

if [ ! -f "$db/index/modules.json" ]; then
  dl=$(cd "$scratch" && go mod download -json "$vulndb@$version")
  dir=$(json_field Dir <<<"$dl")
  sum=$(json_field Sum <<<"$dl")
  if [ -z "$dir" ] || [ "$sum" != "$want_sum" ]; then
    echo "vulncheck: $vulndb@$version: got hash '$sum', want '$want_sum'" >&2
    echo "$dl" >&2
    exit 1
  fi
  # The pseudo-version's commit time, for index/db.json.
  ts=${version#v0.0.0-}
  ts=${ts%%-*}
  modified="${ts:0:4}-${ts:4:2}-${ts:6:2}T${ts:8:2}:${ts:10:2}:${ts:12:2}Z"
  "$bin/mkdb" -osv "$dir/data/osv" -out "$scratch/db" -modified "$modified"
  mv -T "$scratch/db" "$db" 2>/dev/null || true # a concurrent run may have won
fi

"$bin/govulncheck" -db "file://$db" ./...
