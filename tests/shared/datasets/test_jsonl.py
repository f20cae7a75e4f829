"""Crash-safe JSONL: a torn last line is never data and is cut before the next append."""

from __future__ import annotations

import json

from shared.datasets.jsonl import append_line, read_records, repair_tail


def test_round_trip_and_offsets(tmp_path) -> None:
    path = tmp_path / "a.jsonl"
    ends = [append_line(path, {"n": n, "text": "é"}) for n in range(3)]
    got = list(read_records(path))
    assert [r["n"] for _e, r in got] == [0, 1, 2]
    assert [e for e, _r in got] == ends == sorted(ends)
    assert [r["n"] for _e, r in read_records(path, ends[0])] == [1, 2]


def test_torn_tail_is_skipped_then_cut(tmp_path) -> None:
    path = tmp_path / "a.jsonl"
    append_line(path, {"n": 0})
    whole = path.stat().st_size
    with path.open("ab") as f:
        f.write(json.dumps({"n": 1, "pad": "x" * 100}).encode()[:40])  # a writer died mid-line
    assert [r["n"] for _e, r in read_records(path)] == [0]
    assert repair_tail(path) == 40 and path.stat().st_size == whole
    assert repair_tail(path) == 0
    append_line(path, {"n": 2})
    assert [r["n"] for _e, r in read_records(path)] == [0, 2]


def test_a_file_that_is_all_torn_is_emptied(tmp_path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"n": 1')
    assert list(read_records(path)) == []
    assert repair_tail(path) == 7 and path.read_bytes() == b""


def test_unparseable_complete_lines_are_skipped(tmp_path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"n": 0}\nnot json\n[1, 2]\n{"n": 3}\n')
    assert [r["n"] for _e, r in read_records(path)] == [0, 3]
    assert not list(read_records(tmp_path / "missing.jsonl"))
