#!/usr/bin/env bash
# Run the whole system on this machine, without compose: a Redis (run by supervisord, and stopped
# with the rest, when none answers),
# the API, and every service and worker, each its own process, under supervisord
# (deploy/supervisord.conf) in the foreground. A process that dies is started again;
# Ctrl-C stops them all (SIGTERM, up to 35 s each to hand back its running job, then SIGKILL).
# Logs: $BATOS_VAR_DIR/log/<name>.log (appended; each start writes a marker line), and
# supervisord's own in supervisord.log. Status: make status.
#   BATOS_API_TOKEN   bearer token (generated into var/api_token when unset)
#   BATOS_OLLAMA_HOST where a real Ollama answers. Unset: the local LLM server
#                     (services/local_llm, SmolLM2-135M) is started on 127.0.0.1:11434 and the
#                     local CPU profile (deploy/profiles/local-cpu.env) is loaded.
#   BATOS_VAR_DIR     local state: logs, the token, data, supervisord's socket (default: var/)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
export ROOT BATOS_PY="${ROOT}/.venv/bin/python"
PY="${BATOS_PY}"
export BATOS_VAR_DIR="${BATOS_VAR_DIR:-${ROOT}/var}"
VAR="${BATOS_VAR_DIR}"
mkdir -p "${VAR}/log" "${VAR}/data"
export BATOS_REDIS_URL="${BATOS_REDIS_URL:-redis://127.0.0.1:6379/0}"
export BATOS_DATA_DIR="${BATOS_DATA_DIR:-${VAR}/data}"
export BATOS_API_HOST="${BATOS_API_HOST:-127.0.0.1}" BATOS_API_PORT="${BATOS_API_PORT:-8080}"
export BATOS_REDIS_AUTOSTART=false BATOS_REDIS_PORT=6379
redis_vars="$(bash scripts/ensure_redis.sh)"  # exits (set -e) when a remote Redis does not answer
while IFS='=' read -r key value; do export "${key}=${value}"; done <<<"${redis_vars}"
mkdir -p "${VAR}/redis"

if [[ -z "${BATOS_API_TOKEN:-}" ]]; then
    [[ -s "${VAR}/api_token" ]] || "${PY}" -c "import secrets; print(secrets.token_urlsafe(24))" >"${VAR}/api_token"
    BATOS_API_TOKEN="$(cat "${VAR}/api_token")"
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
export BATOS_LOCAL_LLM_AUTOSTART="$([[ "${LOCAL_LLM}" == "1" ]] && echo true || echo false)"

CONF="${ROOT}/deploy/supervisord.conf"
if [[ -S "${VAR}/supervisor.sock" ]] \
        && "${ROOT}/.venv/bin/supervisorctl" -c "${CONF}" -s "unix://${VAR}/supervisor.sock" pid >/dev/null 2>&1; then
    echo "BAT OS is already running under supervisord ($(cat "${VAR}/supervisord.pid" 2>/dev/null || echo '?')):" >&2
    echo "  make status; stop it with Ctrl-C in its terminal" >&2
    exit 1
fi

echo "starting BAT OS (Redis ${BATOS_REDIS_URL}, LLM ${BATOS_OLLAMA_HOST}) under supervisord:"
[[ "${BATOS_REDIS_AUTOSTART}" == "true" ]] && echo "  redis: none answered, so make run starts (and on Ctrl-C stops) redis-server on port ${BATOS_REDIS_PORT}, data in ${VAR}/redis"
names=(api cognition motivator curator tool-forge fine-tune)
[[ "${LOCAL_LLM}" == "1" ]] && names=(llm-server "${names[@]}")
for name in "${names[@]}"; do
    echo "  ${name}: ${VAR}/log/${name}.log"
done
echo
if [[ "${LOCAL_LLM}" == "1" ]]; then
    echo "LLM: the local server with SmolLM2-135M (the first start prepares the model: ~30 s; see ${VAR}/log/llm-server.log)"
fi
echo "API: http://${BATOS_API_HOST}:${BATOS_API_PORT}  (token in ${VAR}/api_token)"
echo "  curl -H \"Authorization: Bearer \$(cat ${VAR}/api_token)\" -H 'Content-Type: application/json' \\"
echo "       -d '{\"text\": \"What is entropy?\"}' http://${BATOS_API_HOST}:${BATOS_API_PORT}/v1/tasks"
echo "A process that dies is started again (make status shows them); Ctrl-C stops everything (up to ~35 s)."
echo
exec "${ROOT}/.venv/bin/supervisord" -c "${CONF}"
