#!/usr/bin/env bash
# Builds the local images the docker runner's tests and the offline pipelines use, when missing:
#   localhost/pipe-busybox:latest              busybox only (2 MB): tests that need no Python
#   localhost/pipe-build-python3.11:latest     Debian bookworm minbase + python3, venv, pip: stands in
#                                              for public.ecr.aws/sam/build-python3.11 (no registry here)
# Needs podman and mmdebstrap (scripts/ensure-podman.sh installs both). Quick when both images exist.
set -euo pipefail

BUSYBOX_IMAGE=localhost/pipe-busybox:latest
PYTHON_IMAGE=localhost/pipe-build-python3.11:latest

die() {
  echo "ensure-build-image: $*" >&2
  exit 1
}

command -v podman >/dev/null || die "podman is not installed: run scripts/ensure-podman.sh first"

build_busybox() {
  podman image exists "$BUSYBOX_IMAGE" && return 0
  [ -x /bin/busybox ] || die "/bin/busybox missing: apt-get install busybox-static"
  local root
  root="$(mktemp -d)"
  mkdir -p "$root/bin" "$root/tmp" "$root/etc"
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  local applet
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  tar -C "$root" -c . | podman import --quiet --change 'ENV PATH=/bin' --change 'CMD ["/bin/sh"]' - "$BUSYBOX_IMAGE" >/dev/null \
    || { rm -rf "$root"; die "podman import of $BUSYBOX_IMAGE failed"; }
  rm -rf "$root"
  echo "ensure-build-image: built $BUSYBOX_IMAGE" >&2
}

# The first Debian mirror this machine's apt sources name (deb822 .sources or one-line .list files).
apt_mirror() {
  local url
  url="$(
    {
      cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }'
      cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | awk '/^deb[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }'
    } | grep -E '/debian/?$' | head -n 1
  )"
  [ -n "$url" ] || die "no Debian mirror (a URI ending in /debian) in /etc/apt/sources.list*"
  echo "$url"
}

build_python() {
  podman image exists "$PYTHON_IMAGE" && return 0
  command -v mmdebstrap >/dev/null || die "mmdebstrap is not installed: run scripts/ensure-podman.sh first"
  local mirror start
  mirror="$(apt_mirror)"
  start=$(date +%s)
  echo "ensure-build-image: building $PYTHON_IMAGE from $mirror (about a minute)" >&2
  # pipefail makes a failing mmdebstrap fail the import pipeline too.
  mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,python3-pip bookworm - "$mirror" \
    | podman import --quiet --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["/bin/bash"]' - "$PYTHON_IMAGE" >/dev/null \
    || die "building $PYTHON_IMAGE failed (mmdebstrap from $mirror, then podman import)"
  echo "ensure-build-image: built $PYTHON_IMAGE in $(($(date +%s) - start)) s" >&2
}

build_busybox
build_python
echo "$BUSYBOX_IMAGE"
echo "$PYTHON_IMAGE"
