#!/usr/bin/env bash
# !!! CI MACHINES ONLY. This script OVERWRITES /etc/docker/daemon.json (bridge none, iptables
# !!! false, ip-masq false: containers lose their networking) and restarts dockerd. Never run it
# !!! on a workstation: there, register runsc by hand (README, "Running with docker compose").
# It refuses to run unless CI=true or BATOS_CI_MACHINE=1 (scripts/setup.sh --test and
# `make bench` set the latter: they are meant for throwaway machines of this kind).
#
# Start a Docker engine with the gVisor (runsc) runtime and build the sandbox image offline.
#
# Idempotent: installs docker.io + runsc only when missing, writes /etc/docker/daemon.json
# (the configuration measured in ../shared/FACTS.md), starts dockerd without systemd when
# `docker info` does not answer, and builds batos-sandbox:latest when it does not exist.
# Needs root. Exits non-zero with a message when Docker cannot be started.
set -euo pipefail

IMAGE="${BATOS_SANDBOX_IMAGE:-batos-sandbox:latest}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/dockerd.log}"
WAIT_S="${DOCKER_WAIT_S:-30}"

die() { echo "docker_up: $*" >&2; exit 1; }
say() { echo "docker_up: $*"; }

if [ "${CI:-}" != "true" ] && [ "${BATOS_CI_MACHINE:-}" != "1" ]; then
    die "refusing: this rewrites /etc/docker/daemon.json and restarts dockerd (CI machines only).
On a workstation add only the runsc runtime to daemon.json (README: Running with docker compose).
On a CI machine: CI=true or BATOS_CI_MACHINE=1 bash scripts/docker_up.sh"
fi
[ "$(id -u)" -eq 0 ] || die "must run as root (installs packages, starts dockerd)"

# 1. Packages.
missing=()
[ -x /usr/sbin/dockerd ] || missing+=(docker.io)
[ -x /usr/bin/runsc ] || missing+=(runsc)
command -v docker >/dev/null 2>&1 || missing+=(docker.io)
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/docker_up.apt.log 2>&1; then
        apt-get update >>/tmp/docker_up.apt.log 2>&1 || die "apt-get update failed (see /tmp/docker_up.apt.log)"
        apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/docker_up.apt.log 2>&1 \
            || die "apt-get install ${missing[*]} failed (see /tmp/docker_up.apt.log)"
    fi
fi

# 2. Daemon configuration. Without runtimeArgs --network=none every runsc container fails to
#    start on this kernel; bridge none + iptables false: no container ever gets a network.
want='{"storage-driver":"overlay2","bridge":"none","iptables":false,"ip-masq":false,"runtimes":{"runsc":{"path":"/usr/bin/runsc","runtimeArgs":["--network=none"]}}}'
mkdir -p /etc/docker
config_changed=0
if [ ! -f /etc/docker/daemon.json ] || [ "$(tr -d ' \n\t' </etc/docker/daemon.json)" != "$want" ]; then
    printf '%s\n' "$want" >/etc/docker/daemon.json
    config_changed=1
fi

# 3. Daemon.
daemon_ok() { docker info >/dev/null 2>&1; }
runsc_ok() { docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"runsc"'; }

if daemon_ok && { [ "$config_changed" -eq 1 ] || ! runsc_ok; }; then
    pid="$(pgrep -xo dockerd || true)"
    if [ -n "$pid" ]; then
        say "reloading dockerd ($pid) for the new configuration"
        kill -HUP "$pid"
        sleep 1
    fi
fi
if ! daemon_ok; then
    say "starting dockerd (log: $DOCKERD_LOG)"
    setsid nohup /usr/sbin/dockerd >"$DOCKERD_LOG" 2>&1 < /dev/null &
    for _ in $(seq 1 $((WAIT_S * 5))); do
        daemon_ok && break
        sleep 0.2
    done
    daemon_ok || { tail -n 20 "$DOCKERD_LOG" >&2 || true; die "dockerd did not answer within ${WAIT_S}s"; }
fi
runsc_ok || die "dockerd runs but has no runsc runtime (check /etc/docker/daemon.json)"
say "docker $(docker version --format '{{.Server.Version}}') is up with runsc"

# 4. Sandbox image.
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    say "image $IMAGE present"
else
    bash "$ROOT/deploy/sandbox/build_offline.sh" "$IMAGE" || die "building $IMAGE failed"
fi
