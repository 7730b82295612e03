"""The public surface is what ``__all__`` says, and every name in it exists."""

from __future__ import annotations

import gauntlet


def test_all_names_exist() -> None:
    for name in gauntlet.__all__:
        assert hasattr(gauntlet, name), name


def test_all_is_complete() -> None:
    public = {n for n in vars(gauntlet) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(gauntlet, n)).__name__ == "module"}
    assert public - modules - {"annotations"} == set(gauntlet.__all__)
