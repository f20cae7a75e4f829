#!/usr/bin/env bash
# Build .venv-unsloth: the separate virtual environment the unsloth training backend runs in.
#
# Unsloth caps transformers/trl/datasets below what the main venv uses, and a bare
# `pip install unsloth` pulls a CUDA torch plus ~15 nvidia wheels. So (../shared/FACTS.md):
#   1. torch==2.13.0 first (the CPU wheel here; on a GPU host set TORCH_SPEC / TORCH_INDEX),
#   2. unsloth with a constraints file that pins that torch,
#   3. uninstall torchvision (its ops do not load beside the CPU torch),
#   4. the project itself, editable and without dependencies, plus the few it needs at import.
# Idempotent: a venv whose marker file matches this script's recipe is left as it is.
# Usage: scripts/unsloth_venv.sh [VENV_DIR]   (default: .venv-unsloth in the repository root)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-${ROOT}/.venv-unsloth}"
PYTHON="${PYTHON:-python3.11}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
UNSLOTH_SPEC="${UNSLOTH_SPEC:-unsloth==2026.10.9}"
RECIPE="${TORCH_SPEC} ${UNSLOTH_SPEC} v1"
MARKER="${VENV}/.batos-unsloth-ready"

# Ready = same recipe, and `workers` resolves to this checkout (the editable install is per path).
ready_check='import importlib.util as u, sys; w = u.find_spec("workers")
sys.exit(not (u.find_spec("unsloth") and w and w.submodule_search_locations[0] == sys.argv[1]))'
if [[ -f "${MARKER}" && "$(cat "${MARKER}")" == "${RECIPE}" ]] \
    && "${VENV}/bin/python" -c "${ready_check}" "${ROOT}/workers" >/dev/null 2>&1; then
    echo "unsloth venv ready: ${VENV}"
    exit 0
fi

command -v "${PYTHON}" >/dev/null || PYTHON=python3
start=$(date +%s)
rm -rf "${VENV}"
"${PYTHON}" -m venv "${VENV}"
PIP=("${VENV}/bin/python" -m pip install --disable-pip-version-check --quiet)

constraints="$(mktemp)"
trap 'rm -f "${constraints}"' EXIT
echo "${TORCH_SPEC}" >"${constraints}"

"${PIP[@]}" --upgrade pip
"${PIP[@]}" "${TORCH_SPEC}"
"${PIP[@]}" -c "${constraints}" "${UNSLOTH_SPEC}"
"${VENV}/bin/python" -m pip uninstall -y --quiet torchvision || true
# The project (no deps: its own pins would fight unsloth's) plus what importing it needs.
"${PIP[@]}" -c "${constraints}" --no-deps -e "${ROOT}"
"${PIP[@]}" -c "${constraints}" "pydantic>=2.7" "pydantic-settings>=2.3" "structlog>=24.1"

# Importing unsloth is the real proof the stack loads (it prints that it found no GPU on CPU).
(cd / && "${VENV}/bin/python" -c "import unsloth" >/dev/null)
"${VENV}/bin/python" -c "${ready_check}" "${ROOT}/workers"
echo "${RECIPE}" >"${MARKER}"
echo "unsloth venv built in $(( $(date +%s) - start )) s: ${VENV} ($(du -sh "${VENV}" | cut -f1))"
