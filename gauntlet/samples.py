"""The samples record: one row per request, from every Locust worker, in one columnar file.

Workers write CSV as they go (cheap, append-only, survives a crash); after the run the harness
merges them into ``samples.parquet``. Anything downstream reads samples through
:func:`load_samples`, which falls back to the raw CSVs for a run that never got to merge.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gauntlet.scenarios.columns import COLUMNS, HEADER_PREFIX, MARKER_PREFIX

SAMPLES_FILE = "samples.parquet"
RAW_DIR = "raw"

DTYPES: dict[str, str] = {
    "t_intended_s": "float64",
    "t_start_s": "float64",
    "latency_ms": "float64",
    "method": "category",
    "name": "category",
    "status": "int32",
    "error": "category",
    "bytes": "int64",
    "worker": "category",
    "client": "string",
    "token": "string",
    "phase": "category",
    "seq": "int32",
}
assert tuple(DTYPES) == COLUMNS, "samples schema and capture columns disagree"


def dtype_of(column: str) -> str:
    """Fixed columns have their own type; ``header:*`` are strings, ``marker:*`` 0/1."""
    if column.startswith(MARKER_PREFIX):
        return "int8"
    if column.startswith(HEADER_PREFIX):
        return "string"
    return DTYPES[column]


def empty(extra: tuple[str, ...] = ()) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=dtype_of(c)) for c in (*DTYPES, *extra)})


def _read_raw(raw_dir: Path) -> pd.DataFrame:
    frames = []
    for path in sorted(raw_dir.glob("samples-*.csv")):
        if path.stat().st_size == 0:
            continue
        with path.open(encoding="utf-8") as fh:
            header = fh.readline().strip().split(",")
        frame = pd.read_csv(
            path,
            # read as text what pandas would guess wrong on an empty column; typed below
            dtype={c: ("string" if dtype_of(c) in ("category", "string") else dtype_of(c))
                   for c in header if not c.startswith(MARKER_PREFIX) and c != "seq"},
            keep_default_na=False,
            on_bad_lines="skip",  # a torn last line from a killed worker
            engine="c",
        )
        frames.append(frame)
    if not frames:
        return empty()
    df = pd.concat(frames, ignore_index=True)
    extra = tuple(sorted({c for c in df.columns if c not in DTYPES}))
    for column in (*DTYPES, *extra):
        if column not in df.columns:  # a file written by another sender lacks it
            df[column] = "" if dtype_of(column) in ("string", "category") else 0
        if column == "seq" or column.startswith(MARKER_PREFIX):
            df[column] = pd.to_numeric(df[column], errors="coerce").fillna(
                -1 if column == "seq" else 0)
        elif dtype_of(column) in ("string", "category"):
            df[column] = df[column].astype("string").fillna("")
        df[column] = df[column].astype(dtype_of(column))
    df = df[[*DTYPES, *extra]]
    return df.sort_values("t_start_s", kind="stable").reset_index(drop=True)


def merge_raw(run_dir: Path, *, remove_raw: bool = True) -> Path:
    """Merge ``raw/samples-*.csv`` into ``samples.parquet`` (idempotent)."""
    raw_dir = run_dir / RAW_DIR
    target = run_dir / SAMPLES_FILE
    df = _read_raw(raw_dir)
    df.to_parquet(target, index=False)
    if remove_raw:
        for path in raw_dir.glob("samples-*.csv"):
            path.unlink()
    return target


def load_samples(run_dir: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Samples of a run: the merged parquet, or the raw CSVs of an unfinished run."""
    target = run_dir / SAMPLES_FILE
    df = _read_parquet(target, columns) if target.exists() else _read_raw(run_dir / RAW_DIR)
    if columns is None:
        return df
    for column in columns:  # a header no answer carried, asked for by a verdict
        if column not in df.columns:
            df[column] = pd.Series("" if dtype_of(column) == "string" else 0, index=df.index,
                                   dtype=dtype_of(column))
    return df[columns]


def _read_parquet(path: Path, columns: list[str] | None) -> pd.DataFrame:
    """``pd.read_parquet(path, columns=columns)``, one column at a time.

    Reading the whole file at once holds its decoded Arrow table, the decompression buffers and
    the pandas copy together, and Arrow's allocator keeps what it freed: ~3x the frame at peak.
    Column by column, handing Arrow's freed memory back after each, the peak is the frame plus
    one column (1,000,000 samples: ~215 MB instead of ~290 MB with the imports;
    ``benchmarks/bench_analysis.py``). Same dtypes, index and column order as read at once.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    present = pq.read_schema(path).names
    names = list(columns) if columns is not None else present
    names = [n for n in names if not n.startswith("__index_level_") and n in present]
    if not names:
        return pd.read_parquet(path, columns=columns)
    pool = pa.default_memory_pool()
    parts: dict[str, pd.Series] = {}
    for name in names:
        parts[name] = pd.read_parquet(path, columns=[name])[name]
        pool.release_unused()
    return pd.DataFrame(parts, copy=False)
