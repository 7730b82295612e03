"""Merging the raw sample files: what could not be read is counted, never skipped in silence —
a torn last line tolerated, anything more a record the load run refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gauntlet.config import LoadConfig
from gauntlet.errors import InfrastructureError
from gauntlet.samples import CAPTURE_FILE, RAW_DIR, load_samples, merge_raw, read_capture
from gauntlet.scenarios.columns import COLUMNS
from gauntlet.scenarios.runner import LoadRun

HEADER = ",".join((*COLUMNS, "header:retry-after")) + "\n"


def row(i: int, status: int = 200) -> str:
    t = 1764139000.0 + i / 10
    return f"{t:.6f},{t:.6f},12.5000,GET,GET /a,{status},,13,h:1,c{i},,,{i},\n"


def write_raw(run_dir: Path, name: str, text: str) -> None:
    raw = run_dir / RAW_DIR
    raw.mkdir(parents=True, exist_ok=True)
    (raw / name).write_text(text)


def test_a_torn_last_line_is_cut_off_and_counted(tmp_path: Path) -> None:
    """Old code: a last line cut mid-write was read as a row, its missing fields blank."""
    write_raw(tmp_path, "samples-1.csv", HEADER + row(0) + row(1) + row(2, 503)[:40])
    merge_raw(tmp_path)
    df = load_samples(tmp_path)
    assert len(df) == 2 and set(df["status"]) == {200}
    record = read_capture(tmp_path)
    assert (record.files, record.rows, record.torn, record.malformed) == (1, 2, 1, 0)
    assert record.counted and record.problems() == []


def test_malformed_rows_are_counted_not_skipped_in_silence(tmp_path: Path) -> None:
    """Old code: a row with a field too many vanished (on_bad_lines="skip"), one with a field
    too few was padded with blanks, one with a word for a number stopped the merge."""
    too_many = row(3).replace("\n", ",x\n")
    too_few = ",".join(row(4).split(",")[:6]) + "\n"
    no_number = row(5).replace("12.5000", "slow")
    write_raw(tmp_path, "samples-1.csv",
              HEADER + row(0) + too_many + too_few + no_number + row(6))
    write_raw(tmp_path, "samples-2.csv", HEADER + row(7))
    merge_raw(tmp_path)
    assert sorted(load_samples(tmp_path)["seq"]) == [0, 6, 7]
    record = read_capture(tmp_path)
    assert (record.files, record.rows, record.malformed) == (2, 3, 3)
    assert record.problems() == ["3 malformed sample rows"]


def test_what_the_workers_could_not_write_is_counted(tmp_path: Path) -> None:
    write_raw(tmp_path, "samples-1.csv", HEADER + row(0))
    write_raw(tmp_path, "generator-1.json", json.dumps(
        {"pid": 1, "capture": {"flush_failures": 2, "rows_lost": 120, "rows_dropped": 1}}))
    write_raw(tmp_path, "generator-2.json", json.dumps({"pid": 2}))  # an older worker
    merge_raw(tmp_path)
    record = read_capture(tmp_path)
    assert (record.flush_failures, record.rows_lost, record.rows_dropped) == (2, 120, 1)
    assert record.problems() == ["2 flush(es) of the capture failed, losing 120 samples",
                                 "1 samples could not be rendered by the capture"]


def test_a_second_merge_keeps_the_first_count(tmp_path: Path) -> None:
    write_raw(tmp_path, "samples-1.csv", HEADER + row(0) + "garbage\n")
    merge_raw(tmp_path)
    merge_raw(tmp_path)  # the raw rows are gone: nothing new to count
    assert read_capture(tmp_path).malformed == 1


def test_the_load_run_refuses_an_incomplete_record(tmp_path: Path) -> None:
    load = LoadRun(LoadConfig(scenario="declared", users=1, duration_s=1), "http://127.0.0.1:1",
                   tmp_path)
    (tmp_path / CAPTURE_FILE).write_text(json.dumps({"files": 1, "rows": 10, "torn": 1}))
    load._check_capture()  # a torn last line: tolerated
    (tmp_path / CAPTURE_FILE).write_text(json.dumps({"files": 1, "rows": 10, "malformed": 4}))
    with pytest.raises(InfrastructureError, match="sample record is incomplete: 4 malformed"):
        load._check_capture()
