#!/usr/bin/env bash
# Makes a Docker-API engine answer at unix:///tmp/podman.sock: podman (runc runtime) serving the
# Docker-compatible API. Idempotent and quick when everything is already in place. Run as root on
# Debian 12; CI calls it on a fresh machine. Prints DOCKER_HOST=... on success.
#
# A service that answers is also made to run a container: one started before containers.conf was
# written answers every request but fails every container ("error setting rlimit type 7"). Such a
# podman service on the socket is restarted; anything else on the socket is reported, not touched.
# The pid of a service this script starts is written to $SOCKET_PATH.pid.
set -euo pipefail

SOCKET_PATH="${PIPE_PODMAN_SOCKET:-/tmp/podman.sock}"
SERVICE_LOG="${PIPE_PODMAN_LOG:-/tmp/podman-service.log}"
PID_FILE="$SOCKET_PATH.pid"
CONF=/etc/containers/containers.conf
PACKAGES=(podman runc busybox-static netavark aardvark-dns iptables mmdebstrap curl)

die() {
  echo "ensure-podman: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (installs packages, writes $CONF)"

install_packages() {
  local missing=()
  local pkg
  for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
      missing+=("$pkg")
    fi
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  echo "ensure-podman: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || die "apt-get update failed"
  apt-get install -o DPkg::Lock::Timeout=300 -y -qq --no-install-recommends "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
}

# Sets `key = value` inside `[section]` of $CONF, keeping every other line: adds the section or the key
# when missing, replaces the key's value when present.
set_conf_key() {
  local section="$1" key="$2" value="$3" tmp
  tmp="$(mktemp)"
  awk -v section="[$section]" -v key="$key" -v value="$value" '
    function emit() { print key " = " value; done = 1 }
    /^[[:space:]]*\[/ {
      if (in_section && !done) emit()
      line = $0; gsub(/[[:space:]]/, "", line)
      in_section = (line == section); seen = seen || in_section
    }
    skipping { if ($0 ~ /\]/) skipping = 0; next }
    in_section && $0 ~ "^[[:space:]]*" key "[[:space:]]*=" {
      if (!done) emit()
      # A multi-line array value: drop its continuation lines too.
      if ($0 ~ /=[[:space:]]*\[/ && $0 !~ /\]/) skipping = 1
      next
    }
    { print }
    END {
      if (!seen) { print ""; print section }
      if (!done) emit()
    }
  ' "$CONF" >"$tmp"
  cat "$tmp" >"$CONF"
  rm -f "$tmp"
}

write_containers_conf() {
  mkdir -p "$(dirname "$CONF")"
  [ -f "$CONF" ] || : >"$CONF"
  # crun fails on this kind of machine (cgroups hybrid mode, setrlimit denied): use runc, no ulimits.
  grep -Eq '^[[:space:]]*default_ulimits[[:space:]]*=[[:space:]]*\[\][[:space:]]*$' "$CONF" \
    || set_conf_key containers default_ulimits '[]'
  grep -Eq '^[[:space:]]*runtime[[:space:]]*=[[:space:]]*"runc"[[:space:]]*$' "$CONF" \
    || set_conf_key engine runtime '"runc"'
}

socket_answers() {
  [ -S "$SOCKET_PATH" ] && curl -fsS --max-time 2 --unix-socket "$SOCKET_PATH" http://d/_ping >/dev/null 2>&1
}

start_service() {
  socket_answers && return 0
  rm -f "$SOCKET_PATH"
  echo "ensure-podman: starting podman system service at unix://$SOCKET_PATH (log: $SERVICE_LOG)" >&2
  nohup setsid podman system service --time=0 "unix://$SOCKET_PATH" >>"$SERVICE_LOG" 2>&1 </dev/null &
  local pid=$! i
  echo "$pid" >"$PID_FILE"
  for i in $(seq 1 100); do
    socket_answers && return 0
    kill -0 "$pid" 2>/dev/null || die "podman system service exited; see $SERVICE_LOG: $(tail -n 5 "$SERVICE_LOG" 2>/dev/null)"
    sleep 0.1
  done
  die "podman system service did not answer at $SOCKET_PATH within 10 s; see $SERVICE_LOG"
}

# Runs a trivial container through the service (busybox from the host as its root filesystem: no image
# needed). Leaves the engine's own error in PROBE_ERROR when it fails.
PROBE_ERROR=""
engine_runs_containers() {
  local rootfs status=0
  rootfs="$(mktemp -d)"
  mkdir -p "$rootfs/bin"
  cp /bin/busybox "$rootfs/bin/busybox"
  PROBE_ERROR="$(timeout 60 podman --url "unix://$SOCKET_PATH" run --rm --network none --rootfs "$rootfs" /bin/busybox true 2>&1)" || status=$?
  rm -rf "$rootfs"
  return "$status"
}

# Pids of podman processes serving exactly our socket: the services this script may restart.
service_pids() {
  local dir cmd
  for dir in /proc/[0-9]*; do
    [[ "$(readlink "$dir/exe" 2>/dev/null)" == */podman ]] || continue
    cmd="$(tr '\0' ' ' <"$dir/cmdline" 2>/dev/null)" || continue
    [[ "$cmd" == *"system service "*"unix://$SOCKET_PATH "* ]] && echo "${dir#/proc/}"
  done
  return 0
}

restart_service() {
  local pids pid i
  pids="$(service_pids)"
  [ -n "$pids" ] || die "the engine at unix://$SOCKET_PATH answers but cannot run a container:
  $PROBE_ERROR
It is not a podman service on that socket, so this script leaves it alone: restart the engine behind
the socket yourself (after fixing its configuration), or set PIPE_PODMAN_SOCKET to another path."
  echo "ensure-podman: the podman service at unix://$SOCKET_PATH (pid $(echo $pids)) answers but cannot run a container:" >&2
  echo "  $PROBE_ERROR" >&2
  echo "ensure-podman: restarting it with the current configuration ($CONF)" >&2
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  for i in $(seq 1 100); do
    [ -z "$(service_pids)" ] && break
    sleep 0.1
  done
  [ -z "$(service_pids)" ] || die "podman service (pid $(echo $pids)) did not stop within 10 s after SIGTERM; stop it and run again"
  start_service
}

install_packages
write_containers_conf
start_service
if ! engine_runs_containers; then
  restart_service
  engine_runs_containers || die "the podman service at unix://$SOCKET_PATH cannot run a container even after a restart:
  $PROBE_ERROR
Check $CONF ([containers] default_ulimits = [], [engine] runtime = \"runc\") and $SERVICE_LOG."
fi
echo "DOCKER_HOST=unix://$SOCKET_PATH"
