#!/usr/bin/env bash
# Make sure a headless Chromium is available (Debian's `chromium` package), for the report's browser test.
#
#   scripts/chromium.sh        # prints the browser's path; installs the package first when missing (as root)
#
# Exit codes: 0 ok, 3 missing and not installable (not root, or no apt-get).
set -euo pipefail

for bin in chromium chromium-browser google-chrome; do
  if command -v "$bin" >/dev/null; then command -v "$bin"; exit 0; fi
done
die() { echo "chromium.sh: $*" >&2; exit 3; }
[[ $(id -u) == 0 ]] || die "no chromium; install it (needs root: apt-get install chromium)"
command -v apt-get >/dev/null || die "no chromium, and no apt-get to install it"
echo "chromium.sh: installing chromium with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
# Another apt-get (an upgrade, a second installer) may hold dpkg's lock: wait up to 10 minutes for it, not fail.
apt_get() { apt-get -o DPkg::Lock::Timeout=600 "$@"; }
apt_get install -y -qq chromium >/dev/null 2>&1 \
  || { apt_get update -qq >/dev/null && apt_get install -y -qq chromium >/dev/null; } \
  || die "apt-get install chromium failed"
command -v chromium
