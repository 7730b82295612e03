"""The gateway's launcher: the template rendered from its environment (rates nginx can count,
the broken variant without limit_req), and nginx accepting the result when it is installed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from stack.gateway.__main__ import (
    TEMPLATE,
    GatewayConfigError,
    fields,
    nginx_binary,
    nginx_rate,
    render,
)

ENV = {"GATEWAY_PORT": "18080", "GATEWAY_UPSTREAM": "127.0.0.1:18081"}


@pytest.mark.parametrize(("text", "rate"), [("100/second", "100r/s"), ("10/5seconds", "2r/s"),
                                            ("3/2seconds", "90r/m"),
                                            ("30/minute", "30r/m"), ("120/hour", "2r/m")])
def test_limits_become_rates_nginx_counts(text: str, rate: str) -> None:
    assert nginx_rate("X", text) == rate


def test_a_rate_nginx_cannot_count_is_refused() -> None:
    with pytest.raises(GatewayConfigError, match="X"):
        nginx_rate("X", "7/hour")
    with pytest.raises(GatewayConfigError, match="GATEWAY_PORT is required"):
        fields({})
    with pytest.raises(GatewayConfigError, match="GATEWAY_API_BUCKET"):
        fields({**ENV, "GATEWAY_DIR": "/tmp", "GATEWAY_API_BUCKET": "0"})


def test_render_fills_every_field(tmp_path: Path) -> None:
    conf = render(TEMPLATE.read_text(), fields({**ENV, "GATEWAY_DIR": str(tmp_path),
                                                "GATEWAY_API_BUCKET": "8"}))
    assert "@" not in conf.replace("@limited", "")
    # a bucket of 8 (admitted at once) is nginx's burst=7: nginx admits its burst + 1
    assert "zone=api burst=7 nodelay" in conf and "rate=100r/s" in conf
    assert "zone=auth burst=5 nodelay" in conf  # the default bucket of 6
    assert "server 127.0.0.1:18081 max_fails=3 fail_timeout=30s" in conf
    assert f"pid {tmp_path}/nginx.pid" in conf and "access_log off" in conf


def test_the_broken_variant_has_no_limit_req(tmp_path: Path) -> None:
    conf = render(TEMPLATE.read_text(), fields({**ENV, "GATEWAY_DIR": str(tmp_path)}),
                  limit_req=False)
    assert "limit_req" not in conf and "limit_conn addr" in conf


def test_the_other_broken_variant_has_no_limit_conn(tmp_path: Path) -> None:
    conf = render(TEMPLATE.read_text(), fields({**ENV, "GATEWAY_DIR": str(tmp_path)}),
                  limit_conn=False)
    assert "limit_conn" not in conf and "limit_req zone=api" in conf


@pytest.mark.skipif(nginx_binary({}) is None, reason="nginx is not installed (scripts/setup.sh)")
@pytest.mark.parametrize("limit_req", [True, False])
def test_nginx_accepts_the_rendered_config(tmp_path: Path, limit_req: bool) -> None:
    values = fields({**ENV, "GATEWAY_DIR": str(tmp_path)})
    path = tmp_path / "nginx.conf"
    path.write_text(render(TEMPLATE.read_text(), values, limit_req=limit_req))
    nginx = nginx_binary({})
    assert nginx is not None
    done = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(path), "-e", "stderr"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


def test_two_instances_and_sticky_sessions(tmp_path: Path) -> None:
    env = {**ENV, "GATEWAY_DIR": str(tmp_path),
           "GATEWAY_UPSTREAM": "127.0.0.1:1001,127.0.0.1:1002", "GATEWAY_STICKY": "1"}
    conf = render(TEMPLATE.read_text(), fields(env))
    assert "server 127.0.0.1:1001 max_fails=3" in conf and "server 127.0.0.1:1002" in conf
    assert "hash $remote_addr consistent;" in conf
    assert "hash $remote_addr" not in render(TEMPLATE.read_text(),
                                            fields({**env, "GATEWAY_STICKY": "0"}))


def test_one_variable_per_instance_as_a_compose_file_sets_them(tmp_path: Path) -> None:
    """GATEWAY_UPSTREAM_2, _10… follow GATEWAY_UPSTREAM by number, not by name (10 after 2);
    GATEWAY_UPSTREAM_TIMEOUT_S is no instance."""
    env = {**ENV, "GATEWAY_DIR": str(tmp_path), "GATEWAY_UPSTREAM": "api:8000",
           "GATEWAY_UPSTREAM_10": "api10:8000", "GATEWAY_UPSTREAM_2": "api2:8000",
           "GATEWAY_UPSTREAM_TIMEOUT_S": "1"}
    conf = render(TEMPLATE.read_text(), fields(env))
    servers = [line.split()[1] for line in conf.splitlines()
               if line.strip().startswith("server ") and "max_fails" in line]
    assert servers == ["api:8000", "api2:8000", "api10:8000"]
    assert "proxy_read_timeout 1s" in conf


def test_a_container_listens_on_every_address_and_believes_its_network(tmp_path: Path) -> None:
    default = render(TEMPLATE.read_text(), fields({**ENV, "GATEWAY_DIR": str(tmp_path)}))
    assert "listen 127.0.0.1:18080 " in default and "set_real_ip_from 127.0.0.1;" in default
    conf = render(TEMPLATE.read_text(), fields({
        **ENV, "GATEWAY_DIR": str(tmp_path), "GATEWAY_HOST": "0.0.0.0",
        "GATEWAY_REAL_IP_FROM": "172.16.0.0/12"}))
    assert "listen 0.0.0.0:18080 " in conf and "set_real_ip_from 172.16.0.0/12;" in conf
    with pytest.raises(GatewayConfigError, match="GATEWAY_REAL_IP_FROM"):
        fields({**ENV, "GATEWAY_DIR": str(tmp_path),
                "GATEWAY_REAL_IP_FROM": "10.0.0.0/8; allow all"})
