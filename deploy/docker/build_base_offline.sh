#!/usr/bin/env bash
# Build the base image batos/base:bookworm without any registry (CI machines, offline hosts):
# Debian bookworm with python3 (3.11) + venv, made by mmdebstrap from the Debian mirror and
# imported as a single-layer image. ~45 s, ~170 MB. Workstations with Docker Hub do not need
# it: the images build FROM python:3.11-slim-bookworm by default (build argument BASE).
#
#   bash deploy/docker/build_base_offline.sh            # builds batos/base:bookworm if missing
#   bash deploy/docker/build_base_offline.sh --force    # rebuilds it
#   then: BATOS_BASE_IMAGE=batos/base:bookworm docker compose ... build
#
# Extra CA certificates found in /usr/local/share/ca-certificates (TLS-intercepting proxies, as
# on CI machines of this kind) are copied in so pip and apt inside image builds trust them.
# Needs root (mmdebstrap, docker).
set -euo pipefail

IMAGE="${BATOS_BASE_IMAGE:-batos/base:bookworm}"
SUITE="${BATOS_BASE_SUITE:-bookworm}"
MIRROR="${BATOS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
die() { echo "build_base_offline: $*" >&2; exit 1; }

if [[ "${1:-}" != "--force" ]] && docker image inspect "${IMAGE}" >/dev/null 2>&1; then
    echo "build_base_offline: ${IMAGE} present"
    exit 0
fi
[[ "$(id -u)" -eq 0 ]] || die "must run as root"
if ! command -v mmdebstrap >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null; } \
        || die "cannot install mmdebstrap"
fi

work="$(mktemp -d /tmp/batos-base.XXXXXX)"
trap 'rm -rf "${work}"' EXIT
hooks=()
shopt -s nullglob
cas=(/usr/local/share/ca-certificates/*.crt)
shopt -u nullglob
if [[ "${#cas[@]}" -gt 0 ]]; then
    hooks+=(--customize-hook="copy-in ${cas[*]} /usr/local/share/ca-certificates/")
fi
hooks+=(--customize-hook='chroot "$1" update-ca-certificates >/dev/null')
hooks+=(--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*')

start=$(date +%s)
mmdebstrap --quiet --variant=apt --include=python3,python3-venv,ca-certificates \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    "${hooks[@]}" "${SUITE}" "${work}/base.tar" "${MIRROR}" || die "mmdebstrap failed"
docker import \
    -c 'ENV LANG=C.UTF-8 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1' \
    -c 'CMD ["/bin/bash"]' "${work}/base.tar" "${IMAGE}" >/dev/null || die "docker import failed"
docker run --rm --network none "${IMAGE}" python3 -c 'import ssl, venv; print("base ok")' >/dev/null \
    || die "smoke run of ${IMAGE} failed"
echo "build_base_offline: built ${IMAGE} in $(( $(date +%s) - start )) s" \
     "($(docker image inspect -f '{{.Size}}' "${IMAGE}") bytes)"
