"""Suite documents made from a command line: ``gauntlet verify``, ``chaos`` and ``up`` take a
contract, a backend and variants (or an up stack, ``--stack NAME``) as options and turn them
into the suite a run takes, and the TOML text the run dir keeps of it.

    suite, doc = stack_suite(None, "contract.toml", "local", (), "verify-x", [{"name": "..."}])
    (run_dir / "suite.toml").write_text(suite_toml(doc))
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from gauntlet.config import Suite, load_suite, parse_suite
from gauntlet.errors import ConfigError


def load_with_text(path: str, *, needs_work: bool = True) -> tuple[Suite, str]:
    """A suite file validated, and its text as written (the run dir keeps it); ``needs_work``
    False accepts one that gives only its stack (``verify --suite``)."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read suite file ({exc.strerror})") from exc
    return load_suite(Path(path), needs_work=needs_work), text


def parse_param(text: str) -> tuple[str, Any]:
    """``--param KEY=VALUE``: the value read as TOML (``3``, ``0.5``, ``[1, 2]``), else text."""
    if "=" not in text:
        raise ConfigError(f"--param wants KEY=VALUE (got {text!r})")
    key, raw = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word is a string
    return key.strip(), value


def stack_suite(suite_file: str | None, contract_file: str | None, backend: str | None,
                variants: tuple[str, ...], name: str, experiments: list[dict[str, Any]],
                stack_name: str | None = None) -> tuple[Suite, dict[str, Any]]:
    """A suite document from the command line: the stack section of ``--suite`` (if given) or
    of the up stack ``--stack NAME``, the contract of ``--contract`` (else the suite's), the
    backend and variants asked for."""
    from gauntlet.up import stack_section

    stack: dict[str, Any] = {}
    doc: dict[str, Any] = {"name": name}
    base_dir = Path.cwd()
    if stack_name is not None and backend:
        raise ConfigError("give --stack (an up stack) or --backend, not both")
    if suite_file:
        base, _ = load_with_text(suite_file, needs_work=False)  # its stack is what is taken
        stack = base.stack.model_dump(exclude_defaults=True)
        base_dir = base.base_dir
        if base.contract:
            doc["contract"] = str((base.base_dir / base.contract).resolve())
        if base.output_dir:
            doc["output_dir"] = base.output_dir
    if contract_file:
        doc["contract"] = str(Path(contract_file).resolve())
    if stack_name is not None:
        stack = stack_section(stack_name, [*stack.get("variants", []), *variants])
        variants = ()
    if "contract" not in doc and (backend or stack.get("backend", "local")) not in \
            ("external", "up"):
        raise ConfigError("give --contract CONTRACT (or --suite with a contract): it says what "
                          "to boot and what the stack claims")
    if backend:
        stack["backend"] = backend
    if variants:
        stack["variants"] = [*stack.get("variants", []), *variants]
    doc["stack"] = stack
    doc["experiments"] = experiments
    return parse_suite(doc, "command line", base_dir, needs_work=bool(experiments)), doc


def suite_toml(doc: dict[str, Any]) -> str:
    """A suite document as TOML (the run dir keeps what was run)."""
    lines = [f"name = {json.dumps(doc['name'])}"]
    if doc.get("contract"):
        lines.append(f"contract = {json.dumps(doc['contract'])}")
    if doc.get("output_dir"):
        lines.append(f"output_dir = {json.dumps(doc['output_dir'])}")
    lines += ["", "[stack]"]
    for key, value in doc.get("stack", {}).items():
        if value is not None and value != {} and value != []:
            lines.append(f"{key} = {toml_value(value)}")
    for exp in doc.get("experiments", []):
        lines += ["", "[[experiments]]", f"name = {json.dumps(exp['name'])}"]
        if exp.get("claim"):
            lines.append(f"claim = {json.dumps(exp['claim'])}")
        if exp.get("params"):
            lines.append(f"params = {toml_value(exp['params'])}")
    return "\n".join(lines) + "\n"


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))
