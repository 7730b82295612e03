"""The JSON Schema of a contract and of a suite, for editors: taplo and Even Better TOML
complete keys, show each model's docstring and flag an unknown key as it is typed.

The schemas are pydantic's ``model_json_schema()`` of :class:`gauntlet.contract.Contract` (its
``[claims]`` the model of the registered kinds) and
:class:`gauntlet.config.Suite`, so they cannot drift from what gauntlet validates; what the
models hold that is not a TOML key (where the document came from, the resolved contract) is
taken out, and a contract's ``extends`` (read before validation) is put in. Since an extending
contract restates only what it changes, the contract schema requires no key below the top level
and allows a claim instance's ``drop``/``replace``.

A schema checks one file's keys and types. What only gauntlet checks — a claim naming a
declared link, an extending contract's merged result, a suite's experiments — is
``gauntlet validate``'s.

    paths = write_schemas(Path(".gauntlet"))
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import Field, create_model

from gauntlet.config import Suite
from gauntlet.contract import Contract, claims_model

CONTRACT_SCHEMA = "contract.schema.json"
SUITE_SCHEMA = "suite.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
_NOT_KEYS = ("base_dir", "resolved_contract")


def contract_schema() -> dict[str, Any]:
    # [claims] as the kinds registered now describe it (Contract validates it so, too)
    document = create_model("Contract", __base__=Contract, __doc__=Contract.__doc__,
                            claims=(claims_model(), Field(default_factory=claims_model())))
    schema = _clean(document.model_json_schema(mode="validation"),
                    "gauntlet contract: what a service claims and how to reach it")
    schema["properties"]["extends"] = {
        "type": "string",
        "title": "Extends",
        "description": "Path of a contract this one extends (relative to this file): tables "
                       "merge key by key, claim instances by name; an extending contract "
                       "restates only what it changes.",
    }
    _allow_extending(schema)
    return schema


def _allow_extending(schema: dict[str, Any]) -> None:
    """An extending contract restates only what it changes, so below the top level no key is
    required here (``gauntlet validate`` checks the merged result), and a claim instance may
    say ``drop = true`` or ``replace = true``."""
    defs: dict[str, Any] = schema.get("$defs", {})
    for definition in defs.values():
        definition.pop("required", None)
    claims = defs.get("Claims", {}).get("properties", {})
    for kind in claims.values():
        ref = kind.get("items", {}).get("$ref", "")
        claim = defs.get(ref.removeprefix("#/$defs/"), {})
        props = claim.get("properties")
        if props is None:
            continue
        props.setdefault("drop", {"type": "boolean", "title": "Drop", "description":
                                  "In an extending contract: remove the inherited instance "
                                  "of this name."})
        props.setdefault("replace", {"type": "boolean", "title": "Replace", "description":
                                     "In an extending contract: this instance stands for "
                                     "itself, nothing inherited."})


def suite_schema() -> dict[str, Any]:
    return _clean(Suite.model_json_schema(mode="validation"),
                  "gauntlet suite: the stack to boot, the load to drive, the experiments")


def _clean(schema: dict[str, Any], title: str) -> dict[str, Any]:
    properties = schema.get("properties", {})
    for key in _NOT_KEYS:
        properties.pop(key, None)
    schema["required"] = [k for k in schema.get("required", []) if k not in _NOT_KEYS]
    schema["title"] = title
    _prune_defs(schema)
    return {"$schema": DIALECT, **schema}


def _prune_defs(schema: dict[str, Any]) -> None:
    """Drop the ``$defs`` no key refers to any more (the suite's resolved contract took the
    whole contract schema with it)."""
    defs: dict[str, Any] = schema.get("$defs", {})
    reachable: set[str] = set()
    pending = _refs({k: v for k, v in schema.items() if k != "$defs"})
    while pending:
        name = pending.pop()
        if name in reachable or name not in defs:
            continue
        reachable.add(name)
        pending |= _refs(defs[name])
    for name in set(defs) - reachable:
        del defs[name]
    if not defs:
        schema.pop("$defs", None)


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            found.add(ref.removeprefix("#/$defs/"))
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def write_schemas(out_dir: Path) -> list[Path]:
    """Write both schemas into ``out_dir`` (created if need be); returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in ((CONTRACT_SCHEMA, contract_schema()), (SUITE_SCHEMA, suite_schema())):
        path = out_dir / name
        path.write_text(json.dumps(schema, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        written.append(path)
    return written
