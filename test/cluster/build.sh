#!/usr/bin/env bash
# Builds the real Kubernetes control plane the cluster e2e suite (npm run test:cluster) runs:
# kube-apiserver, kube-controller-manager and etcd, from the Go modules pinned in go/go.mod.
# No container engine is needed; only Go >= the version go/go.mod names, and the Go module proxy.
#
# The binaries are cached outside the repository, one directory per pinned version:
#   ${PILOTFISH_CLUSTER_CACHE:-$HOME/.cache/pilotfish-cluster}/kubernetes-<v>_etcd-<v>/bin/
# and a binary that is already there is not rebuilt, so only the first run is slow.
#
#   test/cluster/build.sh                  build what is missing, print timings
#   test/cluster/build.sh --print-bin-dir  print the cache bin directory and exit (no Go needed)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
module_dir="$here/go"

# The versions live in exactly one place, go/go.mod; everything else is derived from it.
module_version() {
  local version
  version="$(sed -nE "s#^[[:space:]]*$1 (v[0-9][^ ]*).*#\1#p" "$module_dir/go.mod" | head -n 1)"
  if [[ -z "$version" ]]; then
    echo "build.sh: $module_dir/go.mod does not require $1" >&2
    exit 1
  fi
  echo "$version"
}
kube_version="$(module_version k8s.io/kubernetes)"
etcd_version="$(module_version go.etcd.io/etcd/server/v3)"
cache_root="${PILOTFISH_CLUSTER_CACHE:-$HOME/.cache/pilotfish-cluster}"
bin_dir="$cache_root/kubernetes-${kube_version}_etcd-${etcd_version}/bin"

if [[ "${1:-}" == "--print-bin-dir" ]]; then
  echo "$bin_dir"
  exit 0
fi
if [[ $# -gt 0 ]]; then
  echo "usage: $0 [--print-bin-dir]" >&2
  exit 2
fi

# Go is needed only when something must be built: with a warm cache the suite runs without it.
go_checked=""
require_go() {
  [[ -n "$go_checked" ]] && return
  local required_go have_go
  required_go="$(sed -nE 's/^go ([0-9.]+)/\1/p' "$module_dir/go.mod")"
  if ! command -v go >/dev/null 2>&1; then
    echo "build.sh: 'go' is not on PATH. Install Go >= $required_go (https://go.dev/dl/) and re-run." >&2
    exit 1
  fi
  have_go="$(go env GOVERSION | sed -E 's/^go//; s/[^0-9.].*$//')"
  if [[ "$(printf '%s\n%s\n' "$required_go" "$have_go" | sort -V | head -n 1)" != "$required_go" ]]; then
    echo "build.sh: Go $have_go is older than the $required_go that Kubernetes $kube_version needs; install a newer Go (https://go.dev/dl/)." >&2
    exit 1
  fi
  echo "== building with $(go env GOVERSION); a cold build fetches ~800 MB of modules and compiles for several minutes"
  go_checked=1
}

mkdir -p "$bin_dir"
echo "== pilotfish cluster binaries: Kubernetes $kube_version, etcd $etcd_version"
echo "== cache: $bin_dir"

# Kubernetes stamps its version into the binary at link time (hack/lib/version.sh does the same);
# without it the API server reports v0.0.0-master, which clients print in their warnings.
minor="${kube_version#v1.}"
minor="${minor%%.*}"
version_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  version_ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  version_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

total_start=$SECONDS
build_one() {
  local name="$1" package="$2" ldflags="$3"
  local target="$bin_dir/$name"
  if [[ -x "$target" ]]; then
    echo "== $name: cached"
    return
  fi
  require_go
  echo "== $name: building $package"
  local start=$SECONDS
  # Build beside the target and rename, so an interrupted build never leaves a truncated binary
  # that a later run would take for a cached one.
  local partial="$target.partial.$$"
  (
    cd "$module_dir"
    # -mod=readonly: go.sum is the pin; a build that needs anything else must fail, not resolve.
    # nice: the build uses every core for minutes; keep the machine usable meanwhile.
    CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly" nice -n 10 \
      go build -trimpath -ldflags "-s -w $ldflags" -o "$partial" "$package"
  ) || { rm -f "$partial"; echo "build.sh: building $name failed" >&2; exit 1; }
  mv "$partial" "$target"
  echo "== $name: built in $((SECONDS - start)) s"
}

build_one etcd go.etcd.io/etcd/server/v3 ""
build_one kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$version_ldflags"
build_one kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$version_ldflags"

echo "== done in $((SECONDS - total_start)) s; $(du -sh "$bin_dir" | cut -f1) of binaries in $bin_dir"
