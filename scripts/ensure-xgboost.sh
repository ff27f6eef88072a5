#!/usr/bin/env bash
# Makes /usr/bin/python3 import xgboost: Debian's python3-xgboost (1.7 on Debian 12) and pandas, the
# oracle interpreter of test/python/test_export_xgboost.py (the project env reads XGBoost's JSON
# without xgboost, which has no wheel on this machine's offline index). Idempotent and quick when
# already installed. Run as root on Debian 12.
set -euo pipefail

PYTHON=/usr/bin/python3
PACKAGES=(python3-xgboost python3-pandas)

die() {
  echo "ensure-xgboost: $*" >&2
  exit 1
}

"$PYTHON" -c 'import xgboost, pandas' 2>/dev/null && exit 0
[ "$(id -u)" -eq 0 ] || die "$PYTHON cannot import xgboost and pandas, and installing ${PACKAGES[*]} needs root"
command -v apt-get >/dev/null || die "no apt-get: install xgboost and pandas for $PYTHON by other means"
echo "ensure-xgboost: installing ${PACKAGES[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -o DPkg::Lock::Timeout=300 -y -qq --no-install-recommends "${PACKAGES[@]}" >&2 \
  || { apt-get update -qq >&2 && apt-get install -o DPkg::Lock::Timeout=300 -y -qq --no-install-recommends "${PACKAGES[@]}" >&2; } \
  || die "apt-get install ${PACKAGES[*]} failed"
"$PYTHON" -c 'import xgboost, pandas' || die "installed ${PACKAGES[*]}, but $PYTHON still cannot import them"
