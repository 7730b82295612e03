"""Reading a contract file: TOML, ``extends`` merged key by key (claim instances by name),
relative paths anchored to the file that wrote them, and every problem one line."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gauntlet.contract.claim import FILE, PROGRAM
from gauntlet.contract.document import Contract
from gauntlet.contract.registry import claim_kinds
from gauntlet.errors import ConfigError


def _named(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) and "name" in v for v in value)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; lists of named tables (claim instances) merge by name, so an
    extending contract restates only the numbers it changes; other values are replaced. A
    named table with ``drop = true`` removes the inherited one of its name; with
    ``replace = true`` it stands for itself, nothing inherited (a claim of the same name about
    another mechanism)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif _named(value) and (_named(out.get(key)) or key not in out):
            merged = {item["name"]: item for item in out.get(key, [])}
            for item in value:
                item = dict(item)
                if item.pop("drop", False) is True:
                    merged.pop(item["name"], None)
                    continue
                fresh = item.pop("replace", False) is True
                merged[item["name"]] = _merge({} if fresh else merged.get(item["name"], {}),
                                              item)
            out[key] = list(merged.values())
        else:
            out[key] = value
    return out


def one_line(err: ValidationError, source: str) -> str:
    """A pydantic error as the one line gauntlet prints: the key, what is wrong, what was
    given (shared by the contract and the suite)."""
    first = err.errors()[0]
    loc = ".".join(str(part) for part in first["loc"] if part not in ("function-after",))
    kind = first["type"]
    if kind == "extra_forbidden":
        return f"{source}: unknown key '{loc}'"
    if kind == "missing":
        return f"{source}: missing key '{loc}'"
    msg = first["msg"].removeprefix("Value error, ")
    got = first.get("input")
    where = f"'{loc}': " if loc else ""
    suffix = f" (got {got!r})" if kind != "value_error" and not isinstance(got, dict) else ""
    more = len(err.errors()) - 1
    tail = f" [+{more} more]" if more else ""
    return f"{source}: {where}{msg}{suffix}{tail}"


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """A TOML file (a contract, a suite) as a dict; a missing or malformed one is one line."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such {what} file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _read(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path in seen:
        raise ConfigError(f"{path}: 'extends' goes round in a circle")
    data = read_toml(path, "contract")
    _anchor_paths(data, path.parent)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError(f"{path}: 'extends' must be a path")
    return _merge(_read((path.parent / parent).resolve(), (*seen, path)), data)


def _anchor_paths(data: dict[str, Any], base: Path) -> None:
    """Make the document's relative paths absolute, so they keep pointing where they did once
    another contract extends it from elsewhere."""
    for service in (data.get("services") or {}).values():
        if isinstance(service, dict) and isinstance(service.get("cwd"), str) \
                and "{" not in service["cwd"]:
            service["cwd"] = str((base / service["cwd"]).resolve())
    compose = data.get("compose")
    if isinstance(compose, dict) and isinstance(compose.get("files"), list):
        compose["files"] = [str((base / f).resolve()) if isinstance(f, str) else f
                            for f in compose["files"]]
    traffic = data.get("traffic")
    if isinstance(traffic, dict) and isinstance(traffic.get("locustfile"), str):
        traffic["locustfile"] = str((base / traffic["locustfile"]).resolve())
    claims = data.get("claims")
    if not isinstance(claims, dict):
        return
    for kind in claim_kinds():
        instances = claims.get(kind.key)
        files = kind.model.fields_naming(FILE)
        programs = kind.model.fields_naming(PROGRAM)
        for claim in instances if isinstance(instances, list) else []:
            if not isinstance(claim, dict):
                continue
            for key in files:
                if isinstance(claim.get(key), str):
                    claim[key] = str((base / claim[key]).resolve())
            for key in programs:
                argv = claim.get(key)
                # a program named by a relative path ("./restart.sh", "bin/stop") is the file
                # beside the contract, as a shell would find it from the contract's folder
                if isinstance(argv, list) and argv and isinstance(argv[0], str) \
                        and "/" in argv[0] and not argv[0].startswith("/"):
                    claim[key] = [str((base / argv[0]).resolve()), *argv[1:]]


def _copies(data: dict[str, Any], source: str) -> dict[str, Any]:
    """Services given as ``copy_of = "api"``: a second instance of another service, everything
    of it (command, env, local env, readiness) but ``main``, its own keys on top. Two API
    instances behind one gateway are then one service written once."""
    services = data.get("services")
    if not isinstance(services, dict) or not any(
            isinstance(s, dict) and "copy_of" in s for s in services.values()):
        return data
    # a resolved contract (a run dir's contract.json) says copy_of = null everywhere
    services = {name: {k: v for k, v in spec.items() if not (k == "copy_of" and v is None)}
                if isinstance(spec, dict) else spec for name, spec in services.items()}
    out = dict(services)
    for name, spec in services.items():
        if not isinstance(spec, dict) or "copy_of" not in spec:
            continue
        own = dict(spec)
        base_name = own.pop("copy_of")
        base = services.get(base_name)
        if not isinstance(base, dict) or "copy_of" in base:
            raise ConfigError(f"{source}: services.{name}.copy_of names {base_name!r}, which "
                              "is no service of the contract written out in full")
        copied = {k: v for k, v in base.items() if k != "main"}
        out[name] = _merge(copied, own)
    return {**data, "services": out}


def parse_contract(data: dict[str, Any], source: str = "contract",
                   base_dir: Path | None = None) -> Contract:
    """Validate a contract document (parsed TOML); every problem is one :class:`ConfigError`."""
    data = _copies(data, source)
    try:
        return Contract.model_validate({**data, "base_dir": base_dir or Path.cwd()})
    except ValidationError as exc:
        raise ConfigError(one_line(exc, source)) from exc


def load_contract(path: Path) -> Contract:
    """Read, merge (``extends``) and validate a contract file."""
    path = path.resolve()
    return parse_contract(_read(path), str(path), path.parent)
