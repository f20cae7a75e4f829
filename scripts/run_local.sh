#!/usr/bin/env bash
# Run the whole system on this machine, without compose: a Redis (started if none answers),
# the API, and every service and worker, each its own process. Ctrl-C stops them all.
# Logs: var/log/<name>.log (appended; each run starts with a marker line).
#   BATOS_API_TOKEN   bearer token (generated into var/api_token when unset)
#   BATOS_OLLAMA_HOST where a real Ollama answers. Unset: the local LLM server
#                     (services/local_llm, SmolLM2-135M) is started on 127.0.0.1:11434 and the
#                     local CPU profile (deploy/profiles/local-cpu.env) is loaded.
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

LOCAL_LLM=0
if [[ -z "${BATOS_OLLAMA_HOST:-}" ]]; then
    LOCAL_LLM=1
    while IFS='=' read -r key value; do  # the profile, without overriding what is already set
        [[ -z "${key}" || "${key}" == \#* || -n "${!key:-}" ]] && continue
        export "${key}=${value}"
    done <deploy/profiles/local-cpu.env
    export BATOS_LOCAL_LLM_PORT="${BATOS_LOCAL_LLM_PORT:-11434}"
    export BATOS_OLLAMA_HOST="http://127.0.0.1:${BATOS_LOCAL_LLM_PORT}"
fi

pids=()
cleanup() { trap - EXIT INT TERM; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

start() {  # start NAME MODULE
    echo "=== $(date -u +%FT%TZ) make run: starting $1" >>"var/log/$1.log"
    "${PY}" -m "$2" >>"var/log/$1.log" 2>&1 &
    pids+=("$!")
    echo "  $1 (pid $!): var/log/$1.log"
}

echo "starting BAT OS (Redis ${BATOS_REDIS_URL}, LLM ${BATOS_OLLAMA_HOST}):"
if [[ "${LOCAL_LLM}" == "1" ]]; then
    start llm-server services.local_llm
fi
start api services.api
for entry in cognition:workers.cognition motivator:services.motivator curator:services.curator \
             tool-forge:workers.tool_forge fine-tune:workers.fine_tune; do
    start "${entry%%:*}" "${entry#*:}"
done
echo
if [[ "${LOCAL_LLM}" == "1" ]]; then
    echo "LLM: the local server with SmolLM2-135M (the first start prepares the model: ~30 s; see var/log/llm-server.log)"
fi
echo "API: http://${BATOS_API_HOST}:${BATOS_API_PORT}  (token in var/api_token)"
echo "  curl -H \"Authorization: Bearer \$(cat var/api_token)\" -H 'Content-Type: application/json' \\"
echo "       -d '{\"text\": \"What is entropy?\"}' http://${BATOS_API_HOST}:${BATOS_API_PORT}/v1/tasks"
wait -n "${pids[@]}" || true
echo "a process exited; stopping the rest (see var/log/)" >&2
