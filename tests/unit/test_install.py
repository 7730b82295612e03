"""``gauntlet install toxiproxy`` without a real Go build: where it installs, when it does
nothing, and the one-line errors. The build itself is exercised by stand-in ``go`` programs
(real subprocesses that speak go's command line); scripts/setup.sh builds the real one."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

from gauntlet import install
from gauntlet.boot import binaries
from gauntlet.boot.binaries import HTTP_TOXICS_REVISION, TOXIPROXY_VERSION
from gauntlet.errors import InfrastructureError
from gauntlet.install import install_toxiproxy, parse_go_version, target_dir


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


SERVER_SAYS = f"(gauntlet http toxics {HTTP_TOXICS_REVISION})"


def _toxiproxy(directory: Path, version: str = TOXIPROXY_VERSION,
               server_says: str = SERVER_SAYS) -> None:
    for name in install.PROGRAMS:
        tail = f" {server_says}" if name == "toxiproxy-server" else ""
        _script(directory / name, f'echo "{name} version {version}{tail}"\n')


def _fake_go(directory: Path, version: str, install_body: str, build_body: str = "") -> Path:
    """A ``go`` that answers ``go version``, runs ``install_body`` for ``go install`` and
    ``build_body`` for ``go build``."""
    return _script(directory / "go", f'''case "$1" in
  version) echo "go version {version} linux/amd64" ;;
  install) {install_body} ;;
  build) {build_body or install_body} ;;
esac
''')


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No Go but the test's, a cache of the test's own, and gauntlet outside any virtualenv
    (so it installs into the cache). Returns the directory on PATH."""
    path_dir = tmp_path / "path"
    path_dir.mkdir()
    monkeypatch.setenv("PATH", str(path_dir))
    monkeypatch.setenv("GAUNTLET_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GOTOOLCHAIN", raising=False)
    monkeypatch.setattr(binaries, "GO_DIRS", ())
    monkeypatch.setattr(sys, "prefix", sys.base_prefix)
    return path_dir


@pytest.mark.parametrize(("text", "expected"), [
    ("go version go1.26.8 linux/amd64", (1, 26)),
    ("go version go1.23rc1 darwin/arm64", (1, 23)),
    ("go version go1.19.8 linux/amd64", (1, 19)),
    ("bash: go: command not found", None),
])
def test_parse_go_version(text: str, expected: tuple[int, int] | None) -> None:
    assert parse_go_version(text) == expected


def test_outside_a_virtualenv_it_installs_into_the_cache(isolated: Path, tmp_path: Path) -> None:
    assert target_dir() == tmp_path / "cache" / "bin"


def test_in_a_writable_virtualenv_it_installs_beside_python(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / "venv"
    (env / "bin").mkdir(parents=True)
    monkeypatch.setattr(sys, "prefix", str(env))
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    assert target_dir() == env / "bin"


def test_already_installed_builds_nothing(isolated: Path, tmp_path: Path) -> None:
    """Idempotent: with both programs found at the version, Go is not even looked for (there
    is none here)."""
    _toxiproxy(tmp_path / "cache" / "bin")
    done = install_toxiproxy()
    assert not done.built and done.version == TOXIPROXY_VERSION


def test_an_other_version_is_not_taken_for_installed(isolated: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "nowhere" / "python"))
    _toxiproxy(isolated, version="2.9.0")  # on PATH, too old
    assert install.present() is None
    with pytest.raises(InfrastructureError, match="Go not found"):
        install_toxiproxy()


def test_a_stock_server_or_an_older_build_of_the_toxics_is_built_again(
        isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A toxiproxy-server without gauntlet's HTTP toxics (a stock one, or an older revision of
    them) at the right version is not taken for installed: the HTTP faults need them."""
    monkeypatch.setattr(sys, "executable", str(tmp_path / "nowhere" / "python"))
    for says in ("", "(gauntlet http toxics 0)"):
        _toxiproxy(tmp_path / "cache" / "bin", server_says=says)
        assert install.present() is None
        with pytest.raises(InfrastructureError, match="Go not found"):
            install_toxiproxy()


def test_no_go_is_one_line_naming_what_installs_it(isolated: Path) -> None:
    with pytest.raises(InfrastructureError) as caught:
        install_toxiproxy(force=True)
    assert str(caught.value.args[0]).startswith("Go not found: Toxiproxy is built from source")
    assert caught.value.hint == binaries.install_command("go")
    assert "\n" not in str(caught.value)


def test_a_go_older_than_1_21_is_refused(isolated: Path) -> None:
    _fake_go(isolated, "go1.19.8", "exit 99")
    with pytest.raises(InfrastructureError, match=r"is go1\.19, too old to build Toxiproxy"):
        install_toxiproxy(force=True)


def test_a_failed_build_carries_gos_last_lines(isolated: Path) -> None:
    _fake_go(isolated, "go1.26.8", 'echo "go: downloading github.com/Shopify/toxiproxy/v2"; '
             'echo "dial tcp: lookup proxy.golang.org: no such host" >&2; exit 1')
    with pytest.raises(InfrastructureError) as caught:
        install_toxiproxy(force=True)
    assert "failed (exit 1): dial tcp: lookup proxy.golang.org: no such host" in str(
        caught.value)
    assert caught.value.logs is not None and "go: downloading" in caught.value.logs


def test_a_build_is_installed_where_the_lookup_finds_it(isolated: Path, tmp_path: Path) -> None:
    """The server is built from the module in this package (``go build -o``), the cli is
    ``go install``ed at the pinned release; both are installed as toxiproxy-server and
    toxiproxy-cli, go's progress reaches the caller line by line, and the version gauntlet
    stamps is passed to the linker."""
    args = tmp_path / "go-args"
    cwd = tmp_path / "go-cwd"
    build = (f'echo "$@" >> {args}; pwd > {cwd}; out=""; prev=""; for a in "$@"; do '
             '[ "$prev" = "-o" ] && out="$a"; prev="$a"; done; '
             'printf "#!/bin/sh\\necho \\"toxiproxy-server version '
             f'{TOXIPROXY_VERSION} {SERVER_SAYS}\\"\\n" > "$out"; /bin/chmod +x "$out"; '
             'echo gauntlet.local/toxiproxy/httptoxics')
    install_cli = (f'echo "$@" >> {args}; printf "#!/bin/sh\\necho \\"cli version '
                   f'{TOXIPROXY_VERSION}\\"\\n" > "$GOBIN/cli"; /bin/chmod +x "$GOBIN/cli"')
    _fake_go(isolated, "go1.22.1", install_cli, build)
    lines: list[str] = []
    started: list[str] = []
    done = install_toxiproxy(force=True, on_line=lines.append, on_start=started.append)
    target = tmp_path / "cache" / "bin"
    assert done.built and done.directory == target and done.go == "go1.22"
    assert lines == ["gauntlet.local/toxiproxy/httptoxics"]
    assert started == [f"building Toxiproxy v{TOXIPROXY_VERSION} with go1.22 "
                       f"({isolated / 'go'}) into {target}"]
    for name in install.PROGRAMS:
        assert install.program_version(target / name) == TOXIPROXY_VERSION
    assert install.http_toxics_revision(target / "toxiproxy-server") == HTTP_TOXICS_REVISION
    build_args, install_args = args.read_text().splitlines()
    assert build_args.startswith(f"build -v -ldflags -X {install.MODULE}.Version="
                                 f"{TOXIPROXY_VERSION} -X main.Revision="
                                 f"{HTTP_TOXICS_REVISION} -o ")
    assert build_args.endswith(install.SERVER_PACKAGE)
    assert (Path(cwd.read_text().strip()) / "go.mod").name == "go.mod"
    assert f"{install.MODULE}/cmd/cli@v{TOXIPROXY_VERSION}" in install_args
    assert not list(Path(tempfile.gettempdir()).glob("gauntlet-toxiproxy-*")), "scratch left behind"
