#!/usr/bin/env bash
# For `make run`: does a Redis answer at BATOS_REDIS_URL (default redis://127.0.0.1:6379/0)?
# Prints the variables run_local.sh exports: BATOS_REDIS_AUTOSTART=false when one answers;
# when none does and the URL is local, BATOS_REDIS_AUTOSTART=true and BATOS_REDIS_PORT, so
# supervisord runs redis-server itself (deploy/supervisord.conf, group `store`: started first,
# stopped last, with the rest on Ctrl-C). A remote Redis that does not answer is an error.
set -euo pipefail
URL="${BATOS_REDIS_URL:-redis://127.0.0.1:6379/0}"
if redis-cli -u "${URL}" ping >/dev/null 2>&1; then
    echo "BATOS_REDIS_AUTOSTART=false"
    exit 0
fi
hostport="${URL#redis://}"; hostport="${hostport%%/*}"; hostport="${hostport##*@}"
host="${hostport%%:*}"; port="${hostport##*:}"
[[ "${port}" == "${host}" ]] && port=6379
case "${host}" in
    127.0.0.1|localhost) ;;
    *) echo "Redis at ${URL} does not answer, and it is not local: start it first" >&2; exit 1 ;;
esac
echo "BATOS_REDIS_AUTOSTART=true"
echo "BATOS_REDIS_PORT=${port}"
