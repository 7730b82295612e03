"""The harness knows no service of ours, and its modules form layers without cycles.

1. Nothing in the harness (gauntlet/ with gauntlet.chaos, .checks, .reports and the harness
   modules of .scenarios) names a route, header, metric, field or table of the reference
   stack: those live
   in stack/contract.toml. The literals are read from that contract, so a route added there is
   scanned for here too.
2. Module-level imports of the harness form no cycle, and each entry point a user may import
   first works on its own in a fresh interpreter.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# standard HTTP headers a contract may name, which are nobody's own
STANDARD = {"x-forwarded-for", "retry-after", "authorization", "content-type"}


HARNESS_DIRS = ("gauntlet", "chaos", "checks", "reports", "scenarios")


def harness_files() -> list[Path]:
    """Everything installed: the gauntlet package and the folders mapped into it (our stack's
    locustfiles live in stack/locustfiles, with the stack). ``rglob`` does not follow the
    symlinks gauntlet/chaos etc., so each folder is walked from the root."""
    return sorted(p for d in HARNESS_DIRS for p in (ROOT / d).rglob("*.py"))


def reference_literals() -> set[str]:
    """Routes, headers, marker values, metric names, JSON fields and tables the reference
    contract declares."""
    with (ROOT / "stack" / "contract.toml").open("rb") as fh:
        contract = tomllib.load(fh)
    found: set[str] = set()
    traffic = contract["traffic"]
    for request in [*traffic["requests"].values(), traffic["auth"]]:
        found.add(re.sub(r"/\{[^}]*\}", "", request["path"]))
        found.update(h for h in request.get("headers", {}) if h.lower() not in STANDARD)
    found.add(traffic["auth"]["token"])
    probes = contract["probes"]
    found.update(v for k, v in probes.items() if k in ("live", "ready"))
    found.add(probes["request_counter"]["name"])
    claims = contract["claims"]
    for breaker in claims["breaker"]:
        found.update([breaker["open_answer"]["header"], breaker["open_answer"]["value"],
                      breaker["metric"]["name"]])
    found.update(r["metric"]["name"] for r in claims["retries"])
    for integrity in claims["integrity"]:
        found.update(re.findall(r"\bFROM\s+(\w+)", integrity["sql"], flags=re.IGNORECASE))
    return found


def test_the_literals_are_the_ones_we_mean() -> None:
    literals = reference_literals()
    assert {"/api/generate", "/api/orders", "/auth/login", "X-Fallback", "circuit-open",
            "retries_total", "breaker_state", "orders", "access_token"} <= literals


def test_no_reference_stack_literal_in_the_harness() -> None:
    literals = reference_literals()
    patterns = {lit: re.compile(rf"(?<![\w/-]){re.escape(lit)}(?![\w-])", re.IGNORECASE)
                for lit in literals}
    hits: list[str] = []
    for path in harness_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for literal, pattern in patterns.items():
                if pattern.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{number}: {literal!r}: "
                                f"{line.strip()[:90]}")
    assert hits == [], "reference-stack names in the harness (they belong in a contract):\n" + \
        "\n".join(hits)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] != "gauntlet":  # chaos/... is installed as gauntlet.chaos
        parts.insert(0, "gauntlet")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _module_imports(path: Path, modules: set[str]) -> set[str]:
    """First-party modules ``path`` imports when it is imported: module level only, not inside
    functions or ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text())
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()

    def resolve(target: str) -> None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            out.add(target)
        # importing a.b.c first imports the packages a and a.b (their __init__)
        parent = target.rpartition(".")[0]
        while parent:
            if parent in modules and parent != name and not name.startswith(parent + "."):
                out.add(parent)
            parent = parent.rpartition(".")[0]

    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        nodes = [node] if not isinstance(node, ast.Try) else node.body
        for item in nodes:
            if isinstance(item, ast.Import):
                for alias in item.names:
                    resolve(alias.name)
            elif isinstance(item, ast.ImportFrom):
                base = item.module or ""
                if item.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - item.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in item.names:
                    full = f"{base}.{alias.name}"
                    resolve(full if full in modules else base)
    return out


def test_module_imports_have_no_cycle() -> None:
    files = harness_files()
    modules = {_module_name(p) for p in files}
    graph = {_module_name(p): _module_imports(p, modules) for p in files}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == [], "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("module", ["gauntlet.chaos.toxiproxy", "gauntlet.checks",
                                    "gauntlet.scenarios.capture", "gauntlet.reports",
                                    "gauntlet.contract", "gauntlet.chaos.experiments",
                                    "gauntlet.cli"])
def test_each_entry_point_imports_on_its_own(module: str) -> None:
    result = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
