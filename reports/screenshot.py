"""Screenshot a report page with headless Chromium: look at the page as a person would.

A report's job is to be read, so tests and CI check what a person sees on the first screen
(the verdict table, the failing reason, the fault window), not only the HTML text.

    screenshot(run_dir / "index.html", Path("/tmp/report.png"))

Chromium is found on PATH (``chromium``, ``chromium-browser``, ``google-chrome``…) or through
``$GAUNTLET_CHROMIUM``; on Debian ``apt-get install -y chromium`` provides it. Every network
feature is switched off: the page is self-contained, and the screenshot must prove it.

    python -m gauntlet.reports.screenshot RUN_DIR/index.html out.png [WIDTH HEIGHT]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
TIMEOUT_S = 60.0


class ChromiumNotFound(RuntimeError):
    """No Chromium to take the screenshot with; the message says how to get one."""


def find_chromium() -> str:
    explicit = os.environ.get("GAUNTLET_CHROMIUM")
    if explicit:
        if shutil.which(explicit) or Path(explicit).is_file():
            return explicit
        raise ChromiumNotFound(f"$GAUNTLET_CHROMIUM={explicit!r} is not an executable")
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise ChromiumNotFound(
        "no Chromium found (tried " + ", ".join(CANDIDATES) + "); install it "
        "(Debian: apt-get install -y chromium) or set GAUNTLET_CHROMIUM to its path"
    )


def screenshot(html: Path, png: Path, width: int = 1280, height: int = 800) -> Path:
    """Render ``html`` in a ``width`` x ``height`` window and write the first screen to ``png``."""
    html, png = Path(html).resolve(), Path(png).resolve()
    if not html.is_file():
        raise FileNotFoundError(html)
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="gauntlet-chromium-") as profile:
        cmd = [
            find_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
            f"--window-size={width},{height}", f"--screenshot={png}", html.as_uri(),
        ]
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S,
                                    check=False)
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"chromium took more than {TIMEOUT_S:.0f} s to screenshot "
                               f"{html}") from exc
    if not png.is_file() or png.stat().st_size == 0:
        tail = "\n".join((result.stderr or "").strip().splitlines()[-10:])
        raise RuntimeError(f"chromium wrote no screenshot (exit {result.returncode}):\n{tail}")
    return png


if __name__ == "__main__":  # pragma: no cover - a convenience for people, tests call screenshot()
    args = sys.argv[1:]
    size = (int(args[2]), int(args[3])) if len(args) >= 4 else (1280, 800)
    print(screenshot(Path(args[0]), Path(args[1]), *size))
