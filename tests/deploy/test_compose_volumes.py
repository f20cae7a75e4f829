"""The shared named volumes are made by one container, before any other mounts them.

Docker copies an image's folder into a new, empty named volume when a container mounting it is
created; two containers created at once race on it ("mkdir .../datasets: file exists", seen in
CI). So every mount of a volume that several services share is ``nocopy``, and each of those
services waits for the ``data-dirs`` one-shot that creates the folders.
"""

import json
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = {
    "gpu": ["-f", str(ROOT / "docker-compose.yml")],
    "cpu": ["-f", str(ROOT / "docker-compose.yml"), "-f", str(ROOT / "docker-compose.cpu.yml")],
}
MADE_BY_DATA_DIRS = {"batos-data", "hf-cache"}


def resolved(files: list[str]) -> dict[str, Any]:
    done = subprocess.run(["docker", "compose", *files, "config", "--format", "json"], capture_output=True,
                          text=True, timeout=60, env={"BATOS_API_TOKEN": "t", "PATH": "/usr/bin:/bin:/usr/local/bin"})
    assert done.returncode == 0, f"needs the Docker Compose v2 plugin (scripts/setup.sh --test): {done.stderr}"
    return json.loads(done.stdout)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_shared_volumes_are_never_copied_into_and_wait_for_data_dirs(variant: str) -> None:
    services = resolved(VARIANTS[variant])["services"]
    mounts: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    for name, service in services.items():
        for volume in service.get("volumes", []):
            if volume["type"] == "volume":
                mounts[volume["source"]].append((name, bool(volume.get("volume", {}).get("nocopy"))))
    for source in MADE_BY_DATA_DIRS:
        assert {name for name, _ in mounts[source]} >= {"data-dirs"}, source
        copying = [name for name, nocopy in mounts[source] if not nocopy]
        assert copying == [], f"{source} is copied into by {copying}"
        late = [name for name, _ in mounts[source]
                if name != "data-dirs" and "data-dirs" not in services[name].get("depends_on", {})]
        assert late == [], f"{late} mount {source} without waiting for data-dirs"
    shared = {source for source, users in mounts.items() if len({name for name, _ in users}) > 1}
    for source in shared - MADE_BY_DATA_DIRS:
        # Created in order: every other user depends on one of them (e.g. the guard's socket).
        users = {name for name, _ in mounts[source]}
        roots = [name for name in users if not (set(services[name].get("depends_on", {})) & users)]
        assert len(roots) == 1, f"{source} is mounted by {sorted(users)} with no one created first"
