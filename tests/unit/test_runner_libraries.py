"""A run's summary names the versions of the libraries that measured and judged it: with
dependency ranges instead of pins, two runs' numbers may come from different Locusts."""

from __future__ import annotations

import importlib.metadata

from gauntlet.runner import MEASURING_LIBRARIES, library_versions


def test_the_installed_measuring_libraries_are_named_with_their_versions() -> None:
    found = library_versions()
    assert set(found) <= set(MEASURING_LIBRARIES)
    for name in ("gauntlet", "locust", "pandas", "pydantic"):
        assert found[name] == importlib.metadata.version(name)
