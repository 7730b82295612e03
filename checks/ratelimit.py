"""Rate-limit verdicts from a concurrent burst of distinct clients.

Samples come from :mod:`chaos.burst`; ``ref`` is ``phase=<p>;key=<k>;seq=<n>;retry_after=<s>``
where phase is ``burst`` (each key sends past its limit), ``bystander`` (another key, gently),
``exempt`` (``/health/*`` and ``/metrics`` from a limited client), ``after`` (each key once more
after its Retry-After) and ``store_down`` (a burst with Redis unreachable).
"""

from __future__ import annotations

import pandas as pd

from checks.verdict import Verdict

CHECK = "ratelimit"


def parse_refs(samples: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for ref in samples["ref"].astype("string").fillna(""):
        fields = dict(part.split("=", 1) for part in str(ref).split(";") if "=" in part)
        rows.append(fields)
    parsed = pd.DataFrame(rows, index=samples.index)
    for column in ("phase", "key", "seq", "retry_after"):
        if column not in parsed:
            parsed[column] = ""
    out = samples.join(parsed[["phase", "key", "seq", "retry_after"]])
    out["seq"] = pd.to_numeric(out["seq"], errors="coerce")
    return out


def ratelimit_verdicts(samples: pd.DataFrame, *, limit: int, window_s: float,
                       tolerance: int) -> list[Verdict]:
    df = parse_refs(samples)
    out: list[Verdict] = []
    burst = df[df["phase"] == "burst"]
    keys = sorted(burst["key"].unique())
    firsts: dict[str, float] = {}
    for key in keys:
        rows = burst[burst["key"] == key].sort_values("seq")
        limited = rows[rows["status"] == 429]
        firsts[key] = float(limited["seq"].min()) if len(limited) else float("nan")
    expected = limit + 1
    never = [k for k, v in firsts.items() if pd.isna(v)]
    off = {k: v for k, v in firsts.items() if not pd.isna(v) and abs(v - expected) > tolerance}
    if not keys:
        out.append(Verdict(CHECK, "first 429 at the limit", False, "no burst was recorded"))
    elif never or off:
        worst = never[0] if never else max(off, key=lambda k: abs(off[k] - expected))
        got = "never limited" if never else f"first 429 at request {off[worst]:.0f}"
        out.append(Verdict(
            CHECK, "first 429 at the limit", False,
            f"{len(never) + len(off)} of {len(keys)} keys off: key {worst} {got}; expected "
            f"request {expected} ± {tolerance} ({limit} per {window_s:g} s)",
            None if never else off[worst], f"{expected} ± {tolerance}"))
    else:
        spread = f"{min(firsts.values()):.0f}..{max(firsts.values()):.0f}"
        out.append(Verdict(
            CHECK, "first 429 at the limit", True,
            f"all {len(keys)} concurrent keys got their first 429 at request {spread} "
            f"(expected {expected} ± {tolerance})", spread, f"{expected} ± {tolerance}"))

    limited = df[df["status"] == 429]
    retry_after = pd.to_numeric(limited["retry_after"], errors="coerce")
    bad = limited[retry_after.isna() | (retry_after < 1) | (retry_after > window_s + 1)]
    out.append(Verdict(
        CHECK, "Retry-After consistent with the window", len(limited) > 0 and bad.empty,
        (f"{len(limited)} 429s, {len(bad)} without a Retry-After within 1..{window_s + 1:g} s"
         if len(limited) else "no 429 to inspect"),
        len(bad) if len(limited) else None, 0))

    bystander = df[df["phase"] == "bystander"]
    hit = int((bystander["status"] == 429).sum())
    out.append(Verdict(
        CHECK, "other keys unaffected", len(bystander) > 0 and hit == 0,
        f"bystander key: {hit} of {len(bystander)} requests limited during the burst",
        hit, 0))

    exempt = df[df["phase"] == "exempt"]
    hit = int((exempt["status"] == 429).sum())
    out.append(Verdict(
        CHECK, "/health and /metrics never limited", len(exempt) > 0 and hit == 0,
        f"{hit} of {len(exempt)} health/metrics requests from a limited client got 429",
        hit, 0))

    after = df[df["phase"] == "after"]
    refused = int((after["status"] != 200).sum())
    out.append(Verdict(
        CHECK, "admitted again after the window", len(after) > 0 and refused == 0,
        f"{len(after) - refused} of {len(after)} keys admitted after waiting Retry-After",
        refused, 0))

    down = df[df["phase"] == "store_down"]
    if len(down):
        n429 = int((down["status"] == 429).sum())
        n5xx = int(((down["status"] >= 500) | (down["status"] == 0)).sum())
        out.append(Verdict(
            CHECK, "fails open when the store is down", n429 == 0 and n5xx == 0,
            f"with Redis unreachable: {n429} 429s and {n5xx} errors in {len(down)} requests "
            "(fail open admits all)",
            n429 + n5xx, 0))
    return out
