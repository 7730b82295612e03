import pytest

from gauntlet import Fault


@pytest.mark.stack(contract="stack/contract.toml")   # or the ini option gauntlet_contract
def test_orders_survive_a_slow_database(stack, faults, load):
    with faults.inject(Fault("postgres", "latency", {"latency": 50})):
        result = load(users=5, duration_s=5, scenario="stack/locustfiles/orders.py")
    assert result.figures.error_rate < 0.01
