"""The docs are code: every snippet a reader is told to write or run is checked here.

- A snippet marked ``<!-- example: PATH -->`` equals the file PATH under docs/examples/, the
  source the tests run (tests/e2e/test_first_verdict.py runs the README's own-service path from
  those files; tests/e2e/test_docs_examples.py the pytest example), so a page that drifts from
  its file fails here.
- Every example contract and suite validates as ``gauntlet validate`` would; every other TOML
  snippet parses, and validates as a contract or suite when it is a whole document (relative
  paths taken from a folder one level below the repository's root, as suites/ and contracts/
  are) or against the editor schema when it is a fragment of one.
- Every ``gauntlet`` command line shown — in shell snippets, example scripts, the run steps of
  YAML (a GitHub workflow, which cannot run here), inline in the prose — parses against the CLI,
  so a renamed option or command fails.
- Every relative link and its anchor resolves.

Kubernetes resources and GitHub workflows cannot run here: their YAML is parsed and the
commands in it are parsed against the CLI, nothing more.
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gauntlet.contract import load_contract
from gauntlet.errors import ConfigError
from gauntlet.init import init
from gauntlet.schema import contract_schema, suite_schema
from gauntlet.validate import CONTRACT_KEYS, SUITE_KEYS, validate_file
from tests.unit.docsnippets import (
    EXAMPLES,
    PAGES,
    ROOT,
    SHELL,
    NotACommand,
    Snippet,
    inline_commands,
    links,
    parse,
    shell_commands,
    slugs,
    snippets,
)

ALL = [s for page in PAGES for s in snippets(page)]
MARKED = [s for s in ALL if s.example]
TOML = [s for s in ALL if s.lang == "toml" and not s.example]
SHARED = {"name", "description", "slo"}
README_LINES = 300


def _where(snippet: Snippet) -> str:
    return snippet.where


# --- examples: the page shows the file ----------------------------------------------------


@pytest.mark.parametrize("snippet", MARKED, ids=_where)
def test_an_example_snippet_equals_its_file(snippet: Snippet) -> None:
    assert snippet.example is not None
    path = ROOT / snippet.example
    assert path.is_file(), f"{snippet.where}: marked as example {snippet.example}: no such file"
    expected = path.read_text(encoding="utf-8")
    if snippet.text != expected:
        diff = difflib.unified_diff(expected.splitlines(), snippet.text.splitlines(),
                                    snippet.example, snippet.where, lineterm="", n=0)
        pytest.fail(f"{snippet.where} differs from {snippet.example}, its source: edit the "
                    "file, then paste it into the page whole\n" + "\n".join(list(diff)[:12]),
                    pytrace=False)


def test_every_example_file_is_shown_or_named() -> None:
    """An example no page shows or names is a file nobody reads: remove it or show it."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in PAGES)
    orphans = [str(f.relative_to(ROOT)) for f in sorted(EXAMPLES.rglob("*")) if f.is_file()
               and "__pycache__" not in f.parts and str(f.relative_to(ROOT)) not in text
               and f"{f.parent.relative_to(ROOT)}/" not in text]
    assert not orphans, f"example files no page shows or names: {orphans}"


@pytest.mark.parametrize("path", sorted(EXAMPLES.rglob("*.toml")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_an_example_contract_or_suite_validates(path: Path) -> None:
    try:
        validate_file(path)
    except ConfigError as exc:
        pytest.fail(f"{path.relative_to(ROOT)}: {exc}", pytrace=False)


def test_the_go_example_reads_its_numbers_in_literal_text() -> None:
    """A template inside literal text: ``"{breaker.supplier.open_s}s"`` is Go's ``30s``."""
    env = load_contract(EXAMPLES / "go-service" / "contract.toml").render_env("inventory")
    assert env["SUPPLIER_BREAKER_OPEN"] == "30s" and env["SUPPLIER_TIMEOUT"] == "2s"
    assert env["RATE_PER_SECOND"] == "10" and env["RATE_BURST"] == "5"


# --- other TOML snippets: parse, and validate what they are -------------------------------


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's top-level entries linked into a temp dir, with an empty folder beside
    them for the snippets: their relative paths resolve as from suites/ or contracts/."""
    root = tmp_path_factory.mktemp("docs-sandbox")
    for entry in ROOT.iterdir():
        if entry.name not in {".git", ".venv"}:
            (root / entry.name).symlink_to(entry)
    (root / "snippets").mkdir()
    return root / "snippets"


def _schema_errors(doc: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """A fragment's errors: its keys and types; no key is required at any level."""
    loose = json.loads(json.dumps(schema))
    for node in [loose, *loose.get("$defs", {}).values()]:
        node.pop("required", None)
    return [f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in jsonschema.Draft202012Validator(loose).iter_errors(doc)]


@pytest.mark.parametrize("snippet", TOML, ids=_where)
def test_a_toml_snippet_parses_and_validates(snippet: Snippet, sandbox: Path) -> None:
    try:
        doc = tomllib.loads(snippet.text)
    except tomllib.TOMLDecodeError as exc:
        pytest.fail(f"{snippet.where}: not TOML: {exc}", pytrace=False)
    if snippet.other:
        return
    keys = set(doc)
    if "name" in doc and keys - {"name", "description"}:  # a whole contract or suite
        path = sandbox / f"{snippet.page.stem}-{snippet.line}.toml"
        path.write_text(snippet.text, encoding="utf-8")
        try:
            validate_file(path)
        except ConfigError as exc:
            pytest.fail(f"{snippet.where}: {exc}", pytrace=False)
        return
    kinds = [(kind, schema) for kind, known, schema in
             (("contract", CONTRACT_KEYS, contract_schema),
              ("suite", SUITE_KEYS, suite_schema)) if keys <= known | SHARED]
    assert kinds, (f"{snippet.where}: keys {sorted(keys)} are neither a contract's nor a "
                   "suite's; mark a TOML snippet of something else <!-- snippet: other -->")
    errors = {kind: _schema_errors(doc, schema()) for kind, schema in kinds}
    assert any(not e for e in errors.values()), f"{snippet.where}: {json.dumps(errors)}"


# --- commands: every gauntlet command line shown parses -----------------------------------


def _yaml_runs(node: Any) -> Iterator[str]:
    """The ``run:`` scripts of a GitHub workflow (or of its steps alone)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "run" and isinstance(value, str):
                yield value
            else:
                yield from _yaml_runs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _yaml_runs(item)


def _yaml_commands(text: str, where: str) -> Iterator[tuple[str, list[str]]]:
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        pytest.fail(f"{where}: not YAML: {exc}", pytrace=False)
    for document in documents:
        for script in _yaml_runs(document):
            for argv in shell_commands(script):
                yield where, argv


def _workflow_template() -> str:
    """The CI workflow ``gauntlet init`` writes (a GitHub workflow: parsed, never run)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        init(Path(tmp), name="shop", base_url="http://127.0.0.1:8080")
        return (Path(tmp) / ".github" / "workflows" / "gauntlet.yml").read_text()


def _commands() -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for s in ALL:
        if s.lang in SHELL or s.lang == "dockerfile":
            text = s.text.replace("exec gauntlet", "gauntlet")  # an entrypoint's last line
            out += [(s.where, argv) for argv in shell_commands(text)]
        elif s.lang in {"yaml", "yml"} and not s.example:
            out += list(_yaml_commands(s.text, s.where))
    for path in sorted(EXAMPLES.rglob("*")):
        rel = str(path.relative_to(ROOT))
        if path.suffix == ".sh":
            out += [(rel, argv) for argv in shell_commands(path.read_text())]
        elif path.suffix in {".yml", ".yaml"}:
            out += list(_yaml_commands(path.read_text(), rel))
    out += list(_yaml_commands(_workflow_template(), "gauntlet init's workflow"))
    return out


COMMANDS = _commands()


@pytest.mark.parametrize(("where", "argv"), COMMANDS,
                         ids=[f"{w}:{' '.join(a[:2])}" for w, a in COMMANDS])
def test_a_command_line_shown_parses(where: str, argv: list[str]) -> None:
    try:
        parse(argv)
    except NotACommand as exc:
        pytest.fail(f"{where}: gauntlet {' '.join(argv)}: {exc}", pytrace=False)


INLINE = [(str(page.relative_to(ROOT)), span) for page in PAGES
          for span in inline_commands(page)]


@pytest.mark.parametrize(("where", "span"), INLINE, ids=[f"{w}:{s}" for w, s in INLINE])
def test_a_command_named_in_prose_parses(where: str, span: str) -> None:
    """A command named in a sentence (``gauntlet up --port api=8080``) may leave out its
    arguments or name them by placeholder, never an option or command that is not there."""
    argv = next(shell_commands(span), None)
    assert argv is not None, f"{where}: `{span}`"
    try:
        parse(argv, lenient=True)
    except NotACommand as exc:
        pytest.fail(f"{where}: `{span}`: {exc}", pytrace=False)


def test_commands_were_found() -> None:
    """The collection itself: the pages still show commands, and the README's own."""
    assert len(COMMANDS) > 40 and len(INLINE) > 40
    readme = [argv for where, argv in COMMANDS if where.startswith("README.md")]
    assert ["verify", "contract.toml", "--suite", "gauntlet.toml"] in readme


# --- links ------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in slugs(resolved):
            broken.append(f"{target}: no heading makes #{anchor}")
    assert not broken, f"{page.relative_to(ROOT)}: {broken}"


def test_the_readme_stays_short() -> None:
    """A newcomer's page: what is longer belongs in docs/ (docs/index.md lists every page)."""
    lines = len((ROOT / "README.md").read_text(encoding="utf-8").splitlines())
    assert lines <= README_LINES, f"README.md has {lines} lines (at most {README_LINES})"


def test_the_index_lists_every_page() -> None:
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    missing = [p.name for p in PAGES if p.parent.name == "docs" and p.name != "index.md"
               and f"]({p.name})" not in index]
    assert not missing, f"docs/index.md lists no {missing}"


def test_seed_tables_go_into_the_seeds_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    """scripts/seed_tables.py writes between docs/seeds.md's markers, keeping the others."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("seed_tables",
                                                  ROOT / "scripts" / "seed_tables.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.PAGE == ROOT / "docs" / "seeds.md"
    text = module.PAGE.read_text(encoding="utf-8")
    assert module.START in text and module.END in text
    page = tmp_path / "seeds.md"
    page.write_text(f"intro\n{module.START}\n<details><summary><b>seed-a</b> old</summary>\n\n"
                    f"</details>\n{module.END}\noutro\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps({"suite": "seed-b", "started_at_s": 0,
                                                  "finished_at_s": 120, "exit_code": 0}))
    (run / "claims.json").write_text(json.dumps({"tally": {"pass": 3}}))
    (run / "claims.md").write_text("| claim |\n")
    monkeypatch.setattr(module, "PAGE", page)
    monkeypatch.setattr(module, "ROOT", tmp_path)
    assert module.main([os.fspath(run)]) == 0
    out = page.read_text()
    assert out.startswith("intro\n") and out.endswith("outro\n")
    assert "<b>seed-a</b> old" in out and "<b>seed-b</b> — 3 pass · wall time 2.0 min" in out
