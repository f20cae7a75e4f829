#!/usr/bin/env bash
# Build the sandbox image offline (no registry): Debian's python3.11 and its stdlib, the shared
# libraries they link, and a passwd/group with the uid/gid 1000 `sandbox` user, imported as a
# single-layer image. ~3 s, ~70 MB. Workstations may use the Dockerfile beside this file instead.
#
# Usage: build_offline.sh [IMAGE]   (default batos-sandbox:latest)
set -euo pipefail

IMAGE="${1:-${BATOS_SANDBOX_IMAGE:-batos-sandbox:latest}}"
PY=/usr/bin/python3.11
LIB=/usr/lib/python3.11

die() { echo "build_offline: $*" >&2; exit 1; }

if [ ! -x "$PY" ] || [ ! -d "$LIB/encodings" ]; then
    echo "build_offline: installing Debian python3.11"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends python3.11-minimal libpython3.11-stdlib >/dev/null 2>&1 \
        || { apt-get update >/dev/null 2>&1 \
             && apt-get install -y --no-install-recommends python3.11-minimal libpython3.11-stdlib >/dev/null 2>&1; } \
        || die "cannot install python3.11-minimal"
fi
[ -x "$PY" ] || die "$PY missing"

ROOTFS="$(mktemp -d /tmp/batos-sandbox-rootfs.XXXXXX)"
trap 'rm -rf "$ROOTFS"' EXIT

mkdir -p "$ROOTFS"/{usr/bin,usr/lib,etc,app,tmp,dev,proc,sys,lib64}
cp -a "$PY" "$ROOTFS/usr/bin/python3.11"
ln -s python3.11 "$ROOTFS/usr/bin/python3"
ln -s python3.11 "$ROOTFS/usr/bin/python"
# The stdlib, minus what a tool never needs.
tar -C /usr/lib -c --exclude='python3.11/test' --exclude='python3.11/idlelib' \
    --exclude='python3.11/tkinter' --exclude='python3.11/ensurepip' \
    --exclude='python3.11/site-packages' --exclude='python3.11/dist-packages' \
    python3.11 | tar -C "$ROOTFS/usr/lib" -x
# Bytecode for the whole stdlib, with the in-image paths: the root is read-only, and compiling
# at import time costs every run ~0.1 s under gVisor. Up-to-date Debian .pyc files are kept.
"$PY" -m compileall -q -j0 -s "$ROOTFS" -p / "$ROOTFS/usr/lib/python3.11" >/dev/null \
    || die "compileall failed"

# Every shared library the interpreter and its extension modules link, at its real path.
{
    ldd "$PY"
    for so in "$LIB"/lib-dynload/*.so; do ldd "$so" 2>/dev/null || true; done
} | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }' | sort -u | while read -r lib; do
    [ -e "$lib" ] || continue
    mkdir -p "$ROOTFS$(dirname "$lib")"
    cp -L "$lib" "$ROOTFS$lib"
done
# The dynamic loader, at the path the binary asks for (Debian: /lib64 -> /usr/lib/... ).
cp -L /lib64/ld-linux-x86-64.so.2 "$ROOTFS/lib64/ld-linux-x86-64.so.2"
# Debian is merged-/usr: /lib, /bin -> usr/...; mirror it so ldd's /lib paths resolve.
if [ -d "$ROOTFS/lib/x86_64-linux-gnu" ]; then
    mkdir -p "$ROOTFS/usr/lib/x86_64-linux-gnu"
    cp -a "$ROOTFS/lib/x86_64-linux-gnu/." "$ROOTFS/usr/lib/x86_64-linux-gnu/"
    rm -rf "$ROOTFS/lib"
fi
ln -s usr/lib "$ROOTFS/lib"
ln -s usr/bin "$ROOTFS/bin"

cat >"$ROOTFS/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/usr/sbin/nologin
sandbox:x:1000:1000:sandbox:/app:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
cat >"$ROOTFS/etc/group" <<'GROUP'
root:x:0:
sandbox:x:1000:
nogroup:x:65534:
GROUP
chmod 1777 "$ROOTFS/tmp"
chmod 755 "$ROOTFS" "$ROOTFS/app"
find "$ROOTFS" -path "$ROOTFS/tmp" -prune -o -type d -exec chmod 755 {} +

tar --numeric-owner --owner=0 --group=0 -C "$ROOTFS" -c . \
    | docker import -c 'WORKDIR /app' -c 'USER 1000:1000' -c 'ENV PYTHONDONTWRITEBYTECODE=1' \
        -c 'CMD ["/usr/bin/python3.11"]' - "$IMAGE" >/dev/null \
    || die "docker import failed"

docker run --rm --runtime=runsc --network=none "$IMAGE" /usr/bin/python3.11 -c \
    'import json, ssl, ctypes, sqlite3, decimal, hashlib; print("sandbox image ok")' \
    || die "smoke run of $IMAGE failed"
echo "build_offline: built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE") bytes)"
