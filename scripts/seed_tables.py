"""Put the latest claims table of each seed suite into docs/seeds.md (between its markers).

    .venv/bin/python scripts/seed_tables.py RUN_DIR [RUN_DIR ...]

Each RUN_DIR is a run of a seed suite (``gauntlet run suites/seeds/<system>.toml``); its
``claims.md`` (written by gauntlet with the run's report) goes into docs/seeds.md as it is,
under a one-line summary, in the order given. The page keeps what it had between the markers
for any system not given, so one re-run refreshes one system.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "seeds.md"
START, END = "<!-- seed-claims:start -->", "<!-- seed-claims:end -->"


def block(run_dir: Path) -> tuple[str, str]:
    summary = json.loads((run_dir / "summary.json").read_text())
    claims = json.loads((run_dir / "claims.json").read_text())
    table = (run_dir / "claims.md").read_text()
    tally = claims.get("tally", {})
    counts = ", ".join(f"{n} {k}" for k, n in sorted(tally.items()))
    wall = (summary["finished_at_s"] - summary["started_at_s"]) / 60
    name = str(summary.get("suite"))
    body = (f"<details><summary><b>{name}</b> — {counts} · wall time {wall:.1f} min · exit "
            f"{summary.get('exit_code')}</summary>\n\n{table}\n</details>\n")
    return name, body


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    text = PAGE.read_text()
    if START not in text or END not in text:
        print(f"{PAGE}: no {START} … {END} markers", file=sys.stderr)
        return 2
    head, rest = text.split(START, 1)
    inner, tail = rest.split(END, 1)
    blocks = dict(re.findall(r"(<details><summary><b>([^<]+)</b>.*?</details>\n)", inner,
                             flags=re.S))
    kept = {name: body for body, name in blocks.items()}
    for arg in argv:
        name, body = block(Path(arg))
        kept[name] = body
    PAGE.write_text(head + START + "\n" + "\n".join(kept[n] for n in sorted(kept)) + END
                      + tail)
    print(f"{PAGE.relative_to(ROOT)}: {len(argv)} claims table(s) updated, {len(kept)} in all")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
