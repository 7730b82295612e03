"""index.html: one self-contained page, readable in the order a person triages a run.

The page answers "did it pass, and if not, what failed?" on the first screen (status, headline
figures, the verdict table with failures first), then "when and why?" (latency on the fault
timeline, throughput, percentiles), then the detail (per endpoint, metadata, timeline). Images
are embedded as data URIs and the CSS is inline, so the file can be attached to a CI job, mailed
or opened from an archive with nothing else beside it. Every piece of run-provided text goes
through :func:`html.escape`.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gauntlet.checks.verdict import Verdict
from gauntlet.reports import fmt
from gauntlet.reports.claims import (
    NOT_VERIFIED,
    attributed,
    claim_rows,
    read_statements,
    tally,
)
from gauntlet.reports.plots import PlotFile
from gauntlet.reports.rundata import Experiment, FigureSource, RunData

# inconclusive is amber: not the green of a pass (nothing was proven), not the red of a fail
STATUS_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "inconclusive": "#b35900",
                  "error": "#9a3412", "interrupted": "#7c3aed"}
VERDICT_MARKS = {"fail": "✗ FAIL", "inconclusive": "? INCONCLUSIVE", "pass": "✓ pass"}
VERDICT_ORDER = {"fail": 0, "inconclusive": 1, "pass": 2}  # triage order of the table
MAX_TIMELINE_ROWS = 500

CSS = """
*{box-sizing:border-box}
body{font:14px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
margin:0;padding:10px 18px 40px;color:#1f2328;background:#fff;max-width:1260px}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 14px;
border-bottom:3px solid var(--status);padding-bottom:6px;margin-bottom:8px}
h1{font-size:20px;margin:0}
h2{font-size:16px;margin:18px 0 6px}
h2.first{margin-top:6px}
h3{font-size:14.5px;margin:12px 0 4px}
.badge{display:inline-block;color:#fff;background:var(--status);font-weight:700;
padding:2px 10px;border-radius:4px;letter-spacing:.04em}
.sub{color:#59636e;font-size:12px}
.headline{flex-basis:100%;font-size:13.5px}
.headline b{font-variant-numeric:tabular-nums}
.note{margin:6px 0;padding:6px 10px;border-radius:4px;font-size:13px}
.warn{background:#fff8c5;border:1px solid #d4a72c}
.err{background:#ffebe9;border:1px solid #cf222e}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:3px 8px;border-bottom:1px solid #d1d9e0;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-size:12.5px}
td.num,th.num{text-align:right;white-space:nowrap}
table.verdicts{width:100%}
table.verdicts td.reason{width:48%}
table.verdicts td:first-child{white-space:nowrap}
tr.fail td{background:#ffebe9}
tr.fail td:first-child{border-left:5px solid #cf222e;font-weight:700;color:#cf222e}
tr.pass td:first-child{border-left:5px solid #1a7f37;color:#1a7f37}
tr.inconclusive td{background:#fff4e0}
tr.inconclusive td:first-child{border-left:5px solid #b35900;font-weight:700;color:#b35900}
.counts b{font-variant-numeric:tabular-nums}
.counts .c-pass{color:#1a7f37}.counts .c-fail{color:#cf222e}
.counts .c-inconclusive{color:#b35900}
.marg{display:inline-block;background:#fff4e0;border:1px solid #b35900;color:#7a3d00;
font-size:11px;font-weight:600;padding:0 4px;border-radius:3px;margin-left:4px}
.unrel{display:inline-block;background:#fff8c5;border:1px solid #d4a72c;color:#7d4e00;
font-size:11px;font-weight:600;padding:0 4px;border-radius:3px;margin-left:4px}
figure{margin:4px 0 12px}
figure img{max-width:100%;height:auto;display:block;border:1px solid #eee}
figcaption{color:#59636e;font-size:12px}
tr.overall td{font-weight:700;background:#f6f8fa}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:0}
dt{color:#59636e}dd{margin:0}
code{font-size:12px;background:#f6f8fa;padding:0 3px;border-radius:3px}
details summary{cursor:pointer;font-weight:600;margin:14px 0 6px}
"""


@dataclass(frozen=True)
class Section:
    """A chaos experiment's part of the page: its plots, drawn from its own sub dir."""

    experiment: Experiment
    plots: list[PlotFile]
    notes: list[str]


def e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def render_page(run: RunData, plots: list[PlotFile], notes: list[str],
                sections: list[Section] | None = None) -> str:
    sections = sections or []
    overall, endpoints, source = run.figures()
    status = run.status
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(status.upper())} · {e(run.name)} · gauntlet report</title>",
        f"<style>:root{{--status:{STATUS_COLOURS[status]}}}{CSS}</style>",
        "</head><body>",
        _header(run, overall),
        _problems(run, notes),
        _verdicts(run.verdicts),
        _claims(run),
        *(_figure(p) for p in plots),
        *(_experiment(i, section) for i, section in enumerate(sections, 1)),
        "" if sections and not overall.get("count") else  # chaos-only: no top-level load
        _endpoints(overall, endpoints, source, run.corrected),
        _metadata(run),
        _timeline(run),
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _header(run: RunData, overall: Mapping[str, Any]) -> str:
    summary = run.summary
    sub = [run.run_dir.name]
    if summary.get("exit_code") is not None:
        sub.append(f"exit {summary['exit_code']}")
    started = fmt.number(run.started_at_s)
    if started is not None:
        sub.append(_utc(started))
    if summary.get("backend"):
        sub.append(f"backend {summary['backend']}")
    return (
        f'<header><span class="badge">{e(run.status.upper())}</span>'
        f"<h1>{e(run.name)}</h1>"
        f"{_counts(run.verdicts)}"
        f'<span class="sub">{e(" · ".join(sub))}</span>'
        f'<div class="headline">{_headline(run, overall)}</div></header>'
    )


def verdict_counts(verdicts: list[Verdict]) -> dict[str, int]:
    return {status: sum(v.status == status for v in verdicts) for status in VERDICT_ORDER}


def _counts(verdicts: list[Verdict]) -> str:
    """"2 failed · 1 inconclusive · 5 passed" beside the badge, each in its state's colour."""
    if not verdicts:
        return '<span class="counts">no verdicts</span>'
    n = verdict_counts(verdicts)
    words = {"fail": "failed", "inconclusive": "inconclusive", "pass": "passed"}
    return ('<span class="counts">' + " · ".join(
        f'<b class="c-{status}">{n[status]}</b> {words[status]}' for status in VERDICT_ORDER)
        + f" of {len(verdicts)} verdicts</span>")


def _headline(run: RunData, overall: Mapping[str, Any]) -> str:
    if not overall or not overall.get("count"):
        if run.experiments:
            counts = [fmt.number(x.run.figures()[0].get("count")) or 0 for x in run.experiments]
            return (f"<b>{len(run.experiments)}</b> experiment(s) · "
                    f"<b>{fmt.count(sum(counts))}</b> requests in them")
        return "no requests recorded"
    basis = "corrected" if run.corrected else "service-time"
    items = [
        f"<b>{fmt.count(overall.get('count'))}</b> requests",
        f"<b>{fmt.rate(overall.get('rps'))}</b> req/s",
        f"p50 <b>{fmt.ms(overall.get('p50_ms'))}</b> ms",
        f"p95 <b>{fmt.ms(overall.get('p95_ms'))}</b> ms",
        f"p99 <b>{fmt.ms(overall.get('p99_ms'))}</b> ms",
        f"max <b>{fmt.ms(overall.get('max_ms'))}</b> ms",
        f"errors <b>{fmt.pct(overall.get('error_rate'))}</b>",
        f"429s <b>{fmt.count(overall.get('count_429'))}</b>",
        f"over <b>{fmt.seconds(overall.get('duration_s'))}</b>",
        e(f"{basis} latency"),
    ]
    return " · ".join(items)


def _problems(run: RunData, notes: list[str]) -> str:
    out = []
    error = run.summary.get("error") or run.summary.get("analysis_error")
    if error:
        where = run.summary.get("traceback")
        tail = f" (traceback in <code>{e(where)}</code>)" if where else ""
        out.append(f'<div class="note err"><b>Run error:</b> {e(error)}{tail}</div>')
    forced = [k for k in run.summary.get("forced_kills") or [] if isinstance(k, Mapping)]
    if forced:
        out.append('<div class="note warn"><b>Had to SIGKILL</b> (did not stop within its '
                   "bound): " + "; ".join(
                       e(f"{k.get('name')} (pid {k.get('pid')}): {k.get('how')}")
                       for k in forced) + "</div>")
    gaps = [*run.missing, *notes]
    if gaps:
        out.append('<div class="note warn"><b>Incomplete run dir</b> — missing: '
                   + "; ".join(e(g) for g in gaps) + "</div>")
    return "\n".join(out)


def _verdicts(verdicts: list[Verdict]) -> str:
    if not verdicts:
        return '<h2 class="first">Verdicts</h2><p>No verdicts were recorded for this run.</p>'
    n = verdict_counts(verdicts)
    unreliable = sum(v.unreliable for v in verdicts)
    title = (f"Verdicts: {n['fail']} failed, {n['inconclusive']} inconclusive, "
             f"{n['pass']} passed")
    if unreliable:
        title += f" ({unreliable} unreliable: the load generator could not be trusted)"
    rows = []
    # stable: failures first, then inconclusive, then passes; order kept within each
    for v in sorted(verdicts, key=lambda v: VERDICT_ORDER.get(v.status, 0)):
        flag = ('<span class="unrel" title="the generator was saturated or its health '
                'unknown">unreliable</span>') \
            if v.unreliable else ""
        if v.marginal:
            flag += ('<span class="marg" title="the measured value is within the '
                     'measurement\'s resolution of its bound">marginal</span>')
        rows.append(
            f'<tr class="{e(v.status)}"><td>{e(VERDICT_MARKS.get(v.status, v.status))}{flag}</td>'
            f"<td>{e(v.check)}{_claim(v)}</td><td>{e(v.name)}</td>"
            f'<td class="num">{e(fmt.quantity(v.observed, v.unit))}</td>'
            f'<td class="num">{e(fmt.quantity(v.threshold, v.unit))}</td>'
            f'<td class="reason">{e(v.reason)}</td></tr>'
        )
    return (f'<h2 class="first">{e(title)}</h2><table class="verdicts"><thead><tr>'
            "<th>status</th><th>check</th><th>name</th><th class=num>observed</th>"
            "<th class=num>threshold</th><th>reason</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _claims(run: RunData) -> str:
    """The claims table (the contract's claims → verdicts → measured), when the run kept its
    contract: what a team reads to answer "which of our claims held, at our numbers?"."""
    contract = read_statements(run.run_dir)
    if contract is None or not run.verdicts:
        return ""
    rows = claim_rows(contract, attributed(run.verdicts, run.summary))
    body, last = [], ""
    for row in rows:
        first = row.claim != last
        last = row.claim
        status = row.outcome.split(" ")[0] if row.outcome != NOT_VERIFIED else "inconclusive"
        body.append(
            f'<tr class="{e(status)}"><td>{e(row.claim) if first else ""}</td>'
            f'<td class="sub">{e(row.stated) if first else ""}</td><td>{e(row.verdict)}</td>'
            f'<td class="num">{e(row.measured)}</td><td>{e(row.outcome)}</td></tr>')
    counts = ", ".join(f"{n} {k}" for k, n in tally(rows).items())
    return (f"<h2>Claims: {e(counts)}</h2><table class=verdicts><thead><tr><th>claim</th>"
            "<th>stated</th><th>verdict</th><th class=num>measured</th><th>outcome</th></tr>"
            "</thead><tbody>" + "".join(body) + "</tbody></table>")


def _claim(v: Verdict) -> str:
    return f' <span class="sub">[{e(v.claim)}]</span>' if v.claim and v.claim not in v.name \
        else ""


def _experiment(number: int, section: Section) -> str:
    """Heading, description and gaps of one experiment, then its plots and endpoints."""
    exp = section.experiment
    n = verdict_counts(exp.run.verdicts)
    verdicts = (f"{n['fail']} failed, {n['inconclusive']} inconclusive, {n['pass']} passed "
                f"of {len(exp.run.verdicts)} verdicts" if exp.run.verdicts
                else "no verdicts of its own")
    sub = " · ".join(x for x in (exp.description, exp.rel_dir, verdicts) if x)
    gaps = [*exp.run.missing, *section.notes]
    overall, endpoints, source = exp.run.figures()
    parts = [f"<h2>Experiment {number}: {e(exp.name)}</h2><p class=sub>{e(sub)}</p>"]
    if gaps:
        parts.append('<div class="note warn">Missing: ' + "; ".join(e(g) for g in gaps)
                     + "</div>")
    parts += [_figure(p, level=3) for p in section.plots]
    if source != "none":
        parts.append(_endpoints(overall, endpoints, source, exp.run.corrected, level=3))
    return "\n".join(parts)


def _figure(plot: PlotFile, level: int = 2) -> str:
    data = base64.b64encode(plot.path.read_bytes()).decode("ascii")
    return (f"<h{level}>{e(plot.title)}</h{level}><figure>"
            f'<img src="data:image/png;base64,{data}" alt="{e(plot.title)}">'
            f"<figcaption>{e(plot.caption)} ({e(plot.path.name)})</figcaption></figure>")


def _endpoints(overall: Mapping[str, Any], endpoints: Mapping[str, Any], source: FigureSource,
               corrected: bool, level: int = 2) -> str:
    title = f"<h{level}>Endpoints</h{level}>"
    if source == "none":
        return title + "<p>No figures: the run recorded no requests.</p>"
    head = ["endpoint", "count", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "error rate",
            "429s"]
    rows = [("overall", overall, "overall"),
            *((name, fig, "") for name, fig in sorted(endpoints.items()))]
    body = []
    for name, fig, cls in rows:
        if not isinstance(fig, Mapping):
            continue
        cells = [fmt.count(fig.get("count")), fmt.rate(fig.get("rps")),
                 fmt.ms(fig.get("p50_ms")), fmt.ms(fig.get("p95_ms")), fmt.ms(fig.get("p99_ms")),
                 fmt.ms(fig.get("max_ms")), fmt.pct(fig.get("error_rate")),
                 fmt.count(fig.get("count_429"))]
        body.append(f'<tr class="{cls}"><td>{e(name)}</td>'
                    + "".join(f'<td class="num">{e(c)}</td>' for c in cells) + "</tr>")
    origin = ("from summary.json" if source == "summary"
              else "recomputed from the samples")
    basis = "corrected for coordinated omission" if corrected else "service time"
    return (title + "<table><thead><tr>"
            + "".join(f'<th class="{"" if i == 0 else "num"}">{e(h)}</th>'
                      for i, h in enumerate(head))
            + "</tr></thead><tbody>" + "".join(body) + "</tbody></table>"
            + f'<p class="sub">Latency: {e(basis)}; figures {e(origin)}.</p>')


def _metadata(run: RunData) -> str:
    s = run.summary
    started, finished = fmt.number(run.started_at_s), fmt.number(s.get("finished_at_s"))
    items: list[tuple[str, str]] = [
        ("run id", e(s.get("run_id") or run.run_dir.name)),
        ("description", e(s.get("description") or fmt.MISSING)),
        ("started", e(_utc(started) if started is not None else fmt.MISSING)),
        ("finished", e(_utc(finished) if finished is not None else "not recorded")),
        ("status", e(f"{run.status} (exit code {s.get('exit_code', fmt.MISSING)})")),
        ("backend", e(s.get("backend") or fmt.MISSING)),
        ("contract", e(s.get("contract") or fmt.MISSING)),
        ("variants", e(", ".join(map(str, s.get("variants") or [])) or "none")),
        ("boot time", e(fmt.seconds(s.get("boot_time_s")))),
        ("latency basis", e(s.get("latency_basis") or
                            ("corrected" if run.corrected else "service") + " (inferred)")),
        ("load", _kv(s.get("load"))),
        ("versions", _kv(s.get("versions"))),
    ]
    parts = ["<h2>Run</h2><dl>"
             + "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>",
             _generator(s.get("generator")),
             _crosscheck(s.get("metrics_crosscheck"), s.get("metrics_crosscheck_warning"))]
    return "\n".join(parts)


def _kv(value: Any) -> str:
    if value is None or value == {}:
        return fmt.MISSING
    if isinstance(value, Mapping):
        return " · ".join(f"<code>{e(k)}</code> {e(_compact(v))}" for k, v in value.items())
    return e(_compact(value))


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _generator(gen: Any) -> str:
    if not isinstance(gen, Mapping):
        return "<h2>Generator health</h2><p>Not recorded.</p>"
    reliable = bool(gen.get("reliable", not gen.get("reasons")))
    reasons: Iterable[Any] = [*(gen.get("lost") or []), *(gen.get("reasons") or []),
                              *(gen.get("unknown") or [])]
    state = "unknown" if gen.get("state") == "unknown" else "unreliable"
    verdict = ("reliable" if reliable
               else f"<b style='color:#cf222e'>{state}</b> — verdicts are marked unreliable, "
                    "their passes inconclusive")
    details = [f"max CPU {fmt.rate(gen.get('max_cpu_percent'))} %",
               f"mean CPU {fmt.rate(gen.get('mean_cpu_percent'))} %",
               f"{fmt.count(gen.get('processes'))} process(es)",
               f"{fmt.count(gen.get('late'))} late",
               f"{fmt.count(gen.get('unsent'))} unsent",
               f"{fmt.count(gen.get('requests'))} requests"]
    out = f"<h2>Generator health</h2><p>{verdict} · {e(' · '.join(details))}</p>"
    items = "".join(f"<li>{e(r)}</li>" for r in reasons)
    return out + (f"<ul>{items}</ul>" if items else "")


def _crosscheck(rows: Any, warning: Any = None) -> str:
    title = "<h2>Metrics cross-check</h2>"
    warned = (f'<p style="color:#9a6700;font-weight:700">{e(str(warning))}</p>'
              if warning else "")
    if not isinstance(rows, Mapping) or not rows:
        return title + warned + "<p>Not available (the API's /metrics was not scraped or did " \
                                "not answer).</p>"
    body = []
    for endpoint, row in sorted(rows.items()):
        if not isinstance(row, Mapping):
            continue
        diff = fmt.number(row.get("diff")) or 0.0
        client = fmt.number(row.get("client")) or 0.0
        style = ' style="color:#cf222e;font-weight:700"' if abs(diff) > max(5, client * 0.01) \
            else ""
        body.append(f"<tr><td>{e(endpoint)}</td>"
                    f'<td class="num">{e(fmt.count(row.get("client")))}</td>'
                    f'<td class="num">{e(fmt.count(row.get("server")))}</td>'
                    f'<td class="num"{style}>{e(fmt.count(row.get("diff")))}</td></tr>')
    return (title + warned + "<table><thead><tr><th>endpoint</th><th class=num>client</th>"
            "<th class=num>server</th><th class=num>client - server</th></tr></thead><tbody>"
            + "".join(body) + "</tbody></table>"
            '<p class="sub">Requests the generator sent vs requests the API counted; a gap '
            "beyond the few in flight at the edges means one side's numbers are wrong.</p>")


def _timeline(run: RunData) -> str:
    if not run.events:
        return ""
    t0 = run.t0_s or run.events[0].at_s
    kinds = Counter(ev.kind for ev in run.events)
    summary = ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items()))
    rows = []
    for ev in sorted(run.events, key=lambda ev: ev.at_s)[:MAX_TIMELINE_ROWS]:
        data = " ".join(f"{k}={_compact(v)}" for k, v in ev.data.items())
        rows.append(f'<tr><td class="num">{ev.at_s - t0:.3f}</td><td>{e(ev.kind)}</td>'
                    f"<td>{e(data)}</td></tr>")
    more = len(run.events) - MAX_TIMELINE_ROWS
    tail = f"<p class=sub>… and {more} more in events.jsonl</p>" if more > 0 else ""
    return (f"<details><summary>Timeline: {len(run.events)} events ({e(summary)})</summary>"
            "<table><thead><tr><th class=num>s</th><th>kind</th><th>fields</th></tr></thead>"
            "<tbody>" + "".join(rows) + "</tbody></table>" + tail + "</details>")


def _utc(at_s: float) -> str:
    return dt.datetime.fromtimestamp(at_s, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
