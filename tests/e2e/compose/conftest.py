"""What every compose test needs: a Docker engine that answers. Without one the tests skip,
and say how to get one; with one, a missing image or a failed boot is a failure."""

from __future__ import annotations

import pytest

from gauntlet.boot.engine import require_docker
from gauntlet.errors import InfrastructureError


@pytest.fixture(scope="session", autouse=True)
def docker_engine() -> None:
    try:
        require_docker(timeout_s=5.0)
    except InfrastructureError:
        pytest.skip("no Docker engine reachable (run scripts/bootstrap-containers.sh)")
