#!/usr/bin/env bash
# Run the whole system on this machine, without compose: a Redis (started if none answers),
# the API, and every service and worker that exists in this checkout, each its own process.
# Ctrl-C stops them all. Logs: var/log/<name>.log.
#   BATOS_API_TOKEN   bearer token (generated into var/api_token when unset)
#   BATOS_OLLAMA_HOST where Ollama answers (default http://localhost:11434)
#   BATOS_FAKE_OLLAMA=1  start the Ollama-protocol stand-in from the tests instead (a demo
#                     without a GPU: answers are canned, nothing is learned)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
PY="${ROOT}/.venv/bin/python"
mkdir -p var/log var/data
export BATOS_REDIS_URL="${BATOS_REDIS_URL:-redis://127.0.0.1:6379/0}"
export BATOS_DATA_DIR="${BATOS_DATA_DIR:-${ROOT}/var/data}"
export BATOS_API_HOST="${BATOS_API_HOST:-127.0.0.1}" BATOS_API_PORT="${BATOS_API_PORT:-8080}"
bash scripts/ensure_redis.sh

if [[ -z "${BATOS_API_TOKEN:-}" ]]; then
    [[ -s var/api_token ]] || "${PY}" -c "import secrets; print(secrets.token_urlsafe(24))" >var/api_token
    BATOS_API_TOKEN="$(cat var/api_token)"
fi
export BATOS_API_TOKEN

pids=()
cleanup() { trap - EXIT INT TERM; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

start() {  # start NAME MODULE
    "${PY}" -m "$2" >"var/log/$1.log" 2>&1 &
    pids+=("$!")
    echo "  $1 (pid $!): var/log/$1.log"
}

if [[ "${BATOS_FAKE_OLLAMA:-0}" == "1" ]]; then
    export BATOS_OLLAMA_HOST="http://127.0.0.1:11435"
    start fake-ollama tests.support.fake_ollama
fi
echo "starting BAT OS (Redis ${BATOS_REDIS_URL}, Ollama ${BATOS_OLLAMA_HOST:-http://localhost:11434}):"
start api services.api
for entry in cognition:workers.cognition motivator:services.motivator curator:services.curator \
             tool-forge:workers.tool_forge fine-tune:workers.fine_tune; do
    name="${entry%%:*}"; module="${entry#*:}"
    if [[ -f "${module//.//}/__main__.py" ]]; then
        start "${name}" "${module}"
    fi
done
echo
echo "API: http://${BATOS_API_HOST}:${BATOS_API_PORT}  (token in var/api_token)"
echo "  curl -H \"Authorization: Bearer \$(cat var/api_token)\" -H 'Content-Type: application/json' \\"
echo "       -d '{\"text\": \"What is entropy?\"}' http://${BATOS_API_HOST}:${BATOS_API_PORT}/v1/tasks"
wait -n "${pids[@]}" || true
echo "a process exited; stopping the rest (see var/log/)" >&2
