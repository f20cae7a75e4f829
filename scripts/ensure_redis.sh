#!/usr/bin/env bash
# Make sure a Redis answers at BATOS_REDIS_URL (default redis://127.0.0.1:6379/0); when none
# does and the URL is local, start one with its data in ./var/redis (append-only file).
set -euo pipefail
URL="${BATOS_REDIS_URL:-redis://127.0.0.1:6379/0}"
if redis-cli -u "${URL}" ping >/dev/null 2>&1; then
    exit 0
fi
hostport="${URL#redis://}"; hostport="${hostport%%/*}"; hostport="${hostport##*@}"
host="${hostport%%:*}"; port="${hostport##*:}"
[[ "${port}" == "${host}" ]] && port=6379
case "${host}" in
    127.0.0.1|localhost) ;;
    *) echo "Redis at ${URL} does not answer, and it is not local: start it first" >&2; exit 1 ;;
esac
mkdir -p var/redis
redis-server --port "${port}" --bind 127.0.0.1 --dir "$(pwd)/var/redis" --appendonly yes \
    --daemonize yes --logfile "$(pwd)/var/redis/redis.log" >/dev/null
for _ in $(seq 50); do
    redis-cli -p "${port}" ping >/dev/null 2>&1 && { echo "started redis-server on port ${port}"; exit 0; }
    sleep 0.1
done
echo "redis-server did not start; see var/redis/redis.log" >&2
exit 1
