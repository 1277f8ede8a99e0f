#!/usr/bin/env bash
# Builds istiod's pilot-discovery for `npm run bench -- --vs istiod`, once, outside the repository.
#
# Why a wrapper module: istio.io/istio is published on the Go module proxy as pseudo-versions only,
# and one file needs a fix to run without Kubernetes (below). `go build -overlay` refuses files in
# the module cache, so the module is copied, patched, and wired in with `replace`.
#
# Cost (2 cores): go mod tidy ~1 min and ~930 MB of module cache; the build ~17 min, 2.7 GB peak,
# a ~190 MB binary. Never run in CI.
#
# Usage: bench/istiod/build.sh           prints the binary's path (builds it when missing)
# Env:   PILOTFISH_ISTIOD_CACHE          cache directory (default ~/.cache/pilotfish-istiod)
#        PILOTFISH_ISTIOD_VERSION        istio.io/istio version (default below)
set -euo pipefail

VERSION="${PILOTFISH_ISTIOD_VERSION:-v0.0.0-20260827124520-eed52ebb66ad}"
CACHE="${PILOTFISH_ISTIOD_CACHE:-$HOME/.cache/pilotfish-istiod}"
# The stamp names everything the binary depends on, so a changed version or patch rebuilds.
PATCH_ID="serviceentry-nil-multicluster-1"
STAMP="$VERSION+$PATCH_ID"
BIN="$CACHE/bin/pilot-discovery"

if ! command -v go >/dev/null 2>&1; then
  echo "istiod build: the Go toolchain is required (Go >= 1.26; install it from go.dev or your distribution)" >&2
  exit 2
fi

if [[ -x "$BIN" && -f "$CACHE/bin/stamp" && "$(cat "$CACHE/bin/stamp")" == "$STAMP" ]]; then
  echo "$BIN"
  exit 0
fi

mkdir -p "$CACHE"
cd "$CACHE"

echo "istiod build: downloading istio.io/istio@$VERSION" >&2
SRC_DIR="$(go mod download -json "istio.io/istio@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [[ -z "$SRC_DIR" || ! -d "$SRC_DIR" ]]; then
  echo "istiod build: go mod download gave no module directory for istio.io/istio@$VERSION" >&2
  exit 1
fi

# A fresh patched copy each time the stamp changes: the module cache itself is read-only.
PATCHED="$CACHE/istio-patched"
rm -rf "$PATCHED"
cp -r "$SRC_DIR" "$PATCHED"
chmod -R u+w "$PATCHED"

# The fix: without a kube client the serviceentry controller is handed a nil multicluster
# controller and dereferences it for the Namespaces input. An empty static collection is what a
# cluster without namespaces would give; nothing in a configDir-only istiod reads namespaces.
TARGET="$PATCHED/pilot/pkg/serviceregistry/serviceentry/controller.go"
ORIGINAL='		s.inputs.Namespaces = multiclusterController.ConfigCluster().Namespaces()'
if ! grep -qxF "$ORIGINAL" "$TARGET"; then
  echo "istiod build: the line to patch is not in $TARGET at $VERSION; update bench/istiod/build.sh" >&2
  exit 1
fi
REPLACEMENT='		if multiclusterController != nil {\n'"$ORIGINAL"'\n		} else {\n			s.inputs.Namespaces = krt.NewStaticCollection[*v1.Namespace](nil, nil, s.opts.WithName("inputs/Namespaces")...)\n		}'
ORIGINAL="$ORIGINAL" REPLACEMENT="$REPLACEMENT" perl -0pi -e '
  my $o = $ENV{ORIGINAL}; my $r = $ENV{REPLACEMENT}; $r =~ s/\\n/\n/g;
  s/^\Q$o\E$/$r/m or die "patch did not apply\n";
' "$TARGET"

WRAPPER="$CACHE/wrapper"
mkdir -p "$WRAPPER"
cat > "$WRAPPER/go.mod" <<GOMOD
module pilotfish.local/istiod

go 1.26.0

require istio.io/istio $VERSION

replace istio.io/istio => ../istio-patched
GOMOD
# A tools-style import: pilot-discovery is a main package, so it is only named, never compiled here.
cat > "$WRAPPER/tools.go" <<'GOSRC'
//go:build tools

package tools

import _ "istio.io/istio/pilot/cmd/pilot-discovery"
GOSRC

cd "$WRAPPER"
echo "istiod build: go mod tidy" >&2
go mod tidy
echo "istiod build: go build (about 17 minutes on 2 idle cores)" >&2
mkdir -p "$CACHE/bin"
rm -f "$CACHE/bin/stamp"
go build -trimpath -o "$BIN.tmp" istio.io/istio/pilot/cmd/pilot-discovery
mv "$BIN.tmp" "$BIN"
echo "$STAMP" > "$CACHE/bin/stamp"
echo "$BIN"
