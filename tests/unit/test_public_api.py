"""The public surface is what ``__all__`` says, and every name in it exists."""

from __future__ import annotations

import gauntlet


def test_all_names_exist() -> None:
    for name in gauntlet.__all__:
        assert getattr(gauntlet, name) is not None, name


def test_all_is_complete() -> None:
    assert set(gauntlet._WHERE) == set(gauntlet.__all__)
    assert len(gauntlet.__all__) == len(set(gauntlet.__all__))
