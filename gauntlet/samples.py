"""The samples record: one row per request, from every Locust worker, in one columnar file.

Workers write CSV as they go (cheap, append-only, survives a crash); after the run the harness
merges them into ``samples.parquet``. Anything downstream reads samples through
:func:`load_samples`, which falls back to the raw CSVs for a run that never got to merge.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from scenarios.columns import COLUMNS

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
    "ref": "string",
}
assert tuple(DTYPES) == COLUMNS, "samples schema and capture columns disagree"


def empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in DTYPES.items()})


def _read_raw(raw_dir: Path) -> pd.DataFrame:
    frames = []
    for path in sorted(raw_dir.glob("samples-*.csv")):
        if path.stat().st_size == 0:
            continue
        frame = pd.read_csv(
            path,
            dtype={**DTYPES, "error": "string", "ref": "string"},
            keep_default_na=False,
            on_bad_lines="skip",  # a torn last line from a killed worker
            engine="c",
        )
        frames.append(frame)
    if not frames:
        return empty()
    df = pd.concat(frames, ignore_index=True)
    for column, dtype in DTYPES.items():
        df[column] = df[column].astype(dtype)
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
    if target.exists():
        return _read_parquet(target, columns)
    df = _read_raw(run_dir / RAW_DIR)
    return df[columns] if columns else df


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

    names = list(columns) if columns is not None else pq.read_schema(path).names
    names = [n for n in names if not n.startswith("__index_level_")]
    if not names:
        return pd.read_parquet(path, columns=columns)
    pool = pa.default_memory_pool()
    parts: dict[str, pd.Series] = {}
    for name in names:
        parts[name] = pd.read_parquet(path, columns=[name])[name]
        pool.release_unused()
    return pd.DataFrame(parts, copy=False)
