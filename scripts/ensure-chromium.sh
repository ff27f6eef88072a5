#!/usr/bin/env bash
# Makes /usr/bin/chromium exist: Debian's chromium, the browser test/integration/what-if-page.test.ts
# drives through playwright-core (no browser can be downloaded here, so playwright's own is not used).
# Idempotent and quick when already installed. Run as root on Debian 12.
set -euo pipefail

BROWSER=/usr/bin/chromium

die() {
  echo "ensure-chromium: $*" >&2
  exit 1
}

[ -x "$BROWSER" ] && exit 0
[ "$(id -u)" -eq 0 ] || die "$BROWSER is missing, and installing Debian's chromium needs root (apt-get install -y chromium)"
command -v apt-get >/dev/null || die "no apt-get: install Chromium by other means so that $BROWSER exists"
echo "ensure-chromium: installing chromium" >&2
export DEBIAN_FRONTEND=noninteractive
# The package lists are refreshed only when the install fails without them (a fresh machine).
apt-get install -o DPkg::Lock::Timeout=300 -y -qq chromium >&2 \
  || { apt-get update -qq >&2 && apt-get install -o DPkg::Lock::Timeout=300 -y -qq chromium >&2; } \
  || die "apt-get install chromium failed"
[ -x "$BROWSER" ] || die "installed chromium, but $BROWSER is still missing"
"$BROWSER" --version >&2 || die "$BROWSER does not start"
