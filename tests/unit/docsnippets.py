"""The fenced snippets, inline command spans and links of README.md and docs/*.md, as
tests/unit/test_docs.py checks them.

A snippet is *an example* when the line before its fence is ``<!-- example: PATH -->``: it must
then be equal to the file PATH (from the repository's root), the source tests run. A TOML
snippet that is not a contract, a suite or a fragment of one says so with ``<!-- snippet:
other -->`` (a ``.taplo.toml``, say).

    for snippet in snippets(ROOT / "README.md"): ...
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from gauntlet.cli import main

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLES = ROOT / "docs" / "examples"

_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
_MARKER = re.compile(r"^\s*<!--\s*(example|snippet):\s*(\S+)\s*-->\s*$")
_INLINE = re.compile(r"`((?:\.venv/bin/)?gauntlet [^`]+)`")
_LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)\)")  # text: one [nesting]
SHELL = {"sh", "bash", "shell", "console"}
OPERATORS = {"&&", "||", ";", "|", "&"}
UNPARSABLE = "<not a shell line>"


@dataclass(frozen=True)
class Snippet:
    page: Path
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    example: str | None = None  # the file it must equal, from the repository's root
    other: bool = False  # a TOML snippet that is no contract or suite

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def snippets(page: Path) -> list[Snippet]:
    """Every fenced block of ``page``, with the marker on the line before it (if any)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    out: list[Snippet] = []
    i = 0
    while i < len(lines):
        opened = _FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        indent, fence, lang = opened.groups()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != fence:
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j])
            j += 1
        before = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        marker = _MARKER.match(before)
        out.append(Snippet(page, i + 1, lang.lower(), "\n".join(body) + "\n" if body else "",
                           example=marker[2] if marker and marker[1] == "example" else None,
                           other=bool(marker and marker[1] == "snippet"
                                      and marker[2] == "other")))
        i = j + 1
    return out


def prose(page: Path) -> str:
    """``page`` without its fenced blocks, each line wrap joined (inline code may wrap)."""
    kept, inside, fence = [], False, ""
    for line in page.read_text(encoding="utf-8").splitlines():
        opened = _FENCE.match(line)
        if not inside and opened:
            inside, fence = True, opened[2]
        elif inside and line.strip() == fence:
            inside = False
        elif not inside:
            kept.append(line)
    return " ".join(kept)


def inline_commands(page: Path) -> list[str]:
    """Every inline code span of the prose that shows a ``gauntlet`` command."""
    return [" ".join(span.split()) for span in _INLINE.findall(prose(page))]


def links(page: Path) -> list[str]:
    """Every relative link target of the prose (URLs and in-page anchors left out)."""
    return [t for t in _LINK.findall(prose(page))
            if not t.startswith(("http://", "https://", "mailto:"))]


def slugs(page: Path) -> set[str]:
    """The anchors GitHub gives ``page``'s headings."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    inside, fence = False, ""
    for line in page.read_text(encoding="utf-8").splitlines():
        opened = _FENCE.match(line)
        if not inside and opened:
            inside, fence = True, opened[2]
            continue
        if inside:
            inside = line.strip() != fence
            continue
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading[1].strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def shell_commands(text: str) -> Iterator[list[str]]:
    """The ``gauntlet`` commands of a shell snippet, each as its argv after ``gauntlet``:
    continued lines joined, comments, environment assignments and ``&&``/``|``/``&`` split
    off, ``.venv/bin/gauntlet`` taken as ``gauntlet``."""
    joined = re.sub(r"\\\n\s*", " ", text)
    for line in joined.splitlines():
        if "gauntlet" not in line:
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError as exc:  # unbalanced quotes: the line as parse() will refuse it
            yield [UNPARSABLE, f"{line.strip()} ({exc})"]
            continue
        command: list[str] = []
        for token in [*tokens, ";"]:
            if token not in OPERATORS:
                command.append(token)
                continue
            while command and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", command[0]):
                command.pop(0)
            if command and Path(command[0]).name == "gauntlet":
                yield command[1:]
            command = []


class NotACommand(Exception):
    """What a documented ``gauntlet`` command line got wrong, as click says it."""


def parse(argv: list[str], *, lenient: bool = False) -> None:
    """Parse ``argv`` (after ``gauntlet``) as the CLI would, running nothing. A path that must
    exist (a run dir) is taken as a placeholder; ``lenient`` (a command named in prose) also
    lets a missing argument or an unconvertible placeholder (``--scale F``) pass, but never an
    unknown command or option or an extra argument."""
    if lenient:  # usage notation: [--stack NAME] is an optional option
        argv = [t[1:].removesuffix("]") if t.startswith("[") else
                t.removesuffix("]") if t.endswith("]") and "[" not in t else t for t in argv]
    if argv[:1] in (["--help"], ["-h"], ["--version"]):
        return
    if not argv:
        raise NotACommand("no command")
    if argv[0] == UNPARSABLE:
        raise NotACommand(f"cannot split it as a shell line: {argv[1]}")
    command = main.commands.get(argv[0])
    if command is None:
        raise NotACommand(f"no command {argv[0]!r} (gauntlet has: "
                          f"{', '.join(sorted(main.commands))})")
    parent = click.Context(main, info_name="gauntlet")
    try:
        command.make_context(argv[0], list(argv[1:]), parent=parent)
    except click.exceptions.Exit:
        return  # --help, --version
    except click.MissingParameter as exc:  # a BadParameter: first
        if lenient:
            return
        raise NotACommand(exc.format_message()) from exc
    except click.BadParameter as exc:
        if lenient or _is_existing_path(exc.param):
            return
        raise NotACommand(exc.format_message()) from exc
    except click.UsageError as exc:
        raise NotACommand(exc.format_message()) from exc


def _is_existing_path(param: click.Parameter | None) -> bool:
    return param is not None and isinstance(param.type, click.Path) and bool(param.type.exists)
