#!/usr/bin/env bash
# Headless Chromium for the browser tests (test/integration/web-ui.test.ts), from Debian's own
# package: installed once, skipped when already present. Prints the browser's path.
#
#   bash infra/local/chromium.sh        # as root, or as a user with sudo
#   SPOKEFLOW_CHROMIUM=/path/to/chromium bash infra/local/chromium.sh   # use another build
set -euo pipefail

CHROMIUM="${SPOKEFLOW_CHROMIUM:-/usr/bin/chromium}"

if [[ -x $CHROMIUM ]]; then
  echo "$CHROMIUM"
  exit 0
fi
[[ $CHROMIUM == /usr/bin/chromium ]] || { echo "chromium: $CHROMIUM is not an executable" >&2; exit 1; }

as_root() {
  if [[ $(id -u) == 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "chromium: need root for: $* (run as root or install sudo)" >&2; exit 1; fi
}

command -v apt-get >/dev/null || { echo "chromium: not Debian/Ubuntu (no apt-get); install Chromium and set SPOKEFLOW_CHROMIUM" >&2; exit 1; }

# 'apt-get update' only when the current package lists have no candidate for chromium.
if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  as_root apt-get update -qq >&2
fi
echo "chromium: installing Debian's chromium package (once)..." >&2
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  -o DPkg::Lock::Timeout=300 chromium >&2

[[ -x $CHROMIUM ]] || { echo "chromium: package installed but $CHROMIUM is missing" >&2; exit 1; }
echo "$CHROMIUM"
