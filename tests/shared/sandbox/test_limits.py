"""Every bad argument of Sandbox.run is a ValueError with a message, before disk or Docker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.sandbox import Sandbox
from tests.shared.sandbox.conftest import make_settings

KIB = 1024
BAD: dict[str, dict[str, Any]] = {
    "code_not_str": {"code": b"print(1)"},
    "code_surrogate": {"code": "print('\udcff')"},
    "code_and_files_too_large": {"files": {"big.txt": "x" * (9 * KIB * KIB)}},
    "files_not_mapping": {"files": [("a.py", "x")]},
    "file_name_not_str": {"files": {1: "x"}},
    "file_name_nul": {"files": {"a\x00b.py": "x"}},
    "file_name_surrogate": {"files": {"\udcff.py": "x"}},
    "file_name_empty": {"files": {"": "x"}},
    "file_name_dot": {"files": {".": "x"}},
    "file_name_absolute": {"files": {"/etc/evil.py": "x"}},
    "file_name_climbs": {"files": {"../evil.py": "x"}},
    "file_name_climbs_inside": {"files": {"a/../../evil.py": "x"}},
    "file_name_reserved_main": {"files": {"main.py": "x"}},
    "file_name_reserved_main_dotted": {"files": {"./main.py": "x"}},
    "file_name_reserved_stdin": {"files": {".batos_stdin": "x"}},
    "file_name_part_too_long": {"files": {"a" * 256: "x"}},
    "file_name_too_long": {"files": {"/".join(["d" * 200] * 6): "x"}},
    "file_inside_a_file": {"files": {"a": "x", "a/b.py": "y"}},
    "file_given_twice": {"files": {"a.py": "x", "./a.py": "z"}},
    "file_content_not_str": {"files": {"a.py": b"x"}},
    "file_content_surrogate": {"files": {"a.py": "\udcff"}},
    "too_many_files": {"files": {f"f{i}.py": "" for i in range(257)}},
    "args_a_str": {"args": "abc"},
    "args_not_sequence": {"args": {"a": 1}},
    "arg_not_str": {"args": [1]},
    "arg_nul": {"args": ["a\x00b"]},
    "arg_surrogate": {"args": ["\udcff"]},
    "args_too_many": {"args": ["a"] * 1025},
    "args_too_large": {"args": ["x" * (40 * KIB * KIB)]},
    "stdin_not_str": {"stdin": b"x"},
    "stdin_surrogate": {"stdin": "\udcff"},
    "stdin_too_large": {"stdin": "x" * (KIB * KIB + 1)},
    "timeout_zero": {"timeout_s": 0},
    "timeout_negative": {"timeout_s": -1.0},
    "timeout_nan": {"timeout_s": float("nan")},
    "timeout_inf": {"timeout_s": float("inf")},
    "timeout_str": {"timeout_s": "5"},
    "timeout_bool": {"timeout_s": True},
    "timeout_over_reap_age": {"timeout_s": 10_000.0},
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_argument_is_a_value_error_before_disk_or_docker(name: str, tmp_path: Path) -> None:
    # An engine that never answers: a bad argument must be refused before any engine call
    # (which would be ``sandbox_unavailable``) and before any run folder is written.
    box = Sandbox(make_settings(sandbox_workdir=str(tmp_path), sandbox_docker_base_url="tcp://127.0.0.1:9"))
    call: dict[str, Any] = {"code": "print(1)", **BAD[name]}
    code = call.pop("code")
    with pytest.raises(ValueError, match=r"\w") as info:
        box.run(code, **call)
    assert str(info.value)
    assert not list(tmp_path.iterdir()), "a run folder was written"


def test_bounds_are_inclusive(tmp_path: Path) -> None:
    box = Sandbox(make_settings(sandbox_workdir=str(tmp_path), sandbox_docker_base_url="tcp://127.0.0.1:9"))
    # Exactly at the bounds: accepted (the unreachable engine then makes it unavailable).
    result = box.run("x", stdin="x" * (KIB * KIB), args=["y" * (64 * KIB - 1)], timeout_s=1)
    assert result.reason.value == "sandbox_unavailable"
