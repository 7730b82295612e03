"""``gauntlet validate FILE...``: check a contract or a suite without running anything.

An editor's schema (:mod:`gauntlet.schema`) sees one file's keys; this sees what a run would
refuse before it starts: a contract's merged ``extends`` chain and its cross-references (a claim
naming an undeclared link), a suite's contract, locustfile, experiments, claims and parameters,
and a non-loopback target. Nothing is booted and no run dir is made, so it fits a pre-commit
hook and a CI step that runs before any machine is set up.

Which kind a file is comes from its keys (``claims``, ``services``, ``links`` ... are a
contract's; ``load``, ``experiments``, ``stack`` ... a suite's), or from a ``#:schema``
directive naming one of gauntlet's schemas when its keys alone cannot tell.

    result = validate_file(Path("contract.toml"))
    print("ok", result.path, result.summary)
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gauntlet.config import Suite, load_suite
from gauntlet.contract import Contract, load_contract, read_toml
from gauntlet.errors import ConfigError

Kind = Literal["contract", "suite"]
_SHARED = {"name", "description", "slo"}
CONTRACT_KEYS = frozenset({*Contract.model_fields, "extends"} - _SHARED - {"base_dir"})
SUITE_KEYS = frozenset(set(Suite.model_fields) - _SHARED - {"resolved_contract", "base_dir"})
_DIRECTIVE = re.compile(r"^\s*#:schema\s+(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class Validated:
    path: Path
    kind: Kind
    name: str
    summary: str
    # claims the contract's own numbers make unreachable, as a run says them before it starts
    findings: tuple[str, ...] = ()


def detect_kind(doc: dict[str, Any], text: str, source: str) -> Kind:
    """A contract or a suite, from the document's own keys; a ``#:schema`` directive decides
    when the keys do not (a file of only a name, or one with keys of both)."""
    contract_keys = sorted(CONTRACT_KEYS & doc.keys())
    suite_keys = sorted(SUITE_KEYS & doc.keys())
    if contract_keys and not suite_keys:
        return "contract"
    if suite_keys and not contract_keys:
        return "suite"
    directive = _DIRECTIVE.search(text)
    if directive:
        target = directive.group(1).rsplit("/", 1)[-1]
        if "contract" in target:
            return "contract"
        if "suite" in target:
            return "suite"
    if contract_keys:
        raise ConfigError(f"{source}: has keys of a contract ({', '.join(contract_keys)}) and "
                          f"of a suite ({', '.join(suite_keys)}): split it in two")
    raise ConfigError(f"{source}: cannot tell a contract from a suite: give a contract's "
                      "claims/services/links or a suite's load/experiments/stack, or a "
                      "'#:schema' line naming contract.schema.json or suite.schema.json")


def validate_file(path: Path) -> Validated:
    """Load ``path`` as gauntlet would before a run; every problem is one ConfigError line."""
    doc = read_toml(path, "contract or suite")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:  # read_toml read it a moment ago
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    kind = detect_kind(doc, text, str(path))
    if kind == "contract":
        contract = load_contract(path)
        return Validated(path, kind, contract.name, contract_summary(contract))
    suite = load_suite(path)
    labels, findings = _planned(suite, str(path))
    return Validated(path, kind, suite.name, suite_summary(suite, labels), findings)


def _planned(suite: Suite, source: str) -> tuple[list[str], tuple[str, ...]]:
    """The experiment runs the suite would make (validated as a run validates them), and the
    contract findings a run would say before it starts."""
    from gauntlet.boot.external import check_remote

    check_remote(suite.stack)
    if not suite.experiments and not suite.every_claim:
        return [], ()
    from gauntlet.chaos.planning import plan_experiments

    try:
        planned = plan_experiments(suite)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    findings = dict.fromkeys(f"{f.claim}: {f.text}" for p in planned for f in p.findings)
    return [p.label for p in planned], tuple(findings)


def contract_summary(contract: Contract) -> str:
    """``contract x: 7 claims (breaker 2, retries 1, ...); 2 services, 3 links (2 managed)``"""
    kinds = Counter(kind for kind, _ in contract.claims.instances())
    claims = sum(kinds.values())
    parts = [f"{claims} claim{'s' if claims != 1 else ''}" +
             (f" ({', '.join(f'{k} {n}' for k, n in kinds.items())})" if kinds else "")]
    if contract.services:
        parts.append(_count(len(contract.services), "service"))
    if contract.links:
        managed = sum(1 for link in contract.links.values() if link.managed)
        parts.append(_count(len(contract.links), "link") +
                     (f" ({managed} managed)" if managed else ""))
    if contract.variants:
        parts.append(_count(len(contract.variants), "variant"))
    return f"contract {contract.name}: " + "; ".join(parts)


def suite_summary(suite: Suite, planned: list[str]) -> str:
    """``suite x (contract y, local backend): load closed 50 users 60 s; 3 experiment runs``"""
    head = f"suite {suite.name} ("
    head += f"contract {suite.resolved_contract.name}, " if suite.resolved_contract else ""
    head += f"{suite.stack.backend} backend)"
    parts: list[str] = []
    load = suite.load
    if load is not None:
        if load.model == "closed":
            shape = (f"{len(load.stages)} stages up to {max(s.users for s in load.stages)} "
                     "users" if load.stages else f"{load.users} users")
        else:
            shape = (f"{len(load.rate_stages)} stages up to "
                     f"{max(s.rate for s in load.rate_stages):g}/s" if load.rate_stages
                     else f"{load.rate:g}/s")
        scenario = Path(load.scenario).name
        parts.append(f"load {load.model} {shape} for {load.total_duration_s:g} s ({scenario})")
    if planned:
        shown = ", ".join(planned[:4]) + (", ..." if len(planned) > 4 else "")
        parts.append(f"{_count(len(planned), 'experiment run')} ({shown})")
    if suite.every_claim:
        parts.append("every claim")
    return head + ": " + ("; ".join(parts) if parts else "nothing to run")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"
