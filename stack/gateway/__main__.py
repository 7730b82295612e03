"""``python -m stack.gateway``: render the nginx template and exec nginx on it.

Environment (the contract fills it; every number comes from a claim where one exists):

- ``GATEWAY_PORT`` (required): listening port, on ``GATEWAY_HOST`` (``127.0.0.1``; a
  container's gateway listens on ``0.0.0.0``)
- ``GATEWAY_UPSTREAM`` (required): ``host:port`` of the API, or a comma list of several
  instances (nginx balances them round-robin, each with ``max_fails``/``fail_timeout``);
  ``GATEWAY_UPSTREAM_2``, ``GATEWAY_UPSTREAM_3``… add one instance each, in that order (what a
  compose file sets: one variable per instance, each its own address)
- ``GATEWAY_REAL_IP_FROM`` (``127.0.0.1``): the address (or CIDR) whose X-Forwarded-For is
  believed: the load balancer in front. In a compose project that is the proxy container, at
  an address of the project's network that compose picks, so stack/docker-compose.gateway.yml
  gives ``0.0.0.0/0`` (only that proxy, and 127.0.0.1 on the host, reach the gateway there)
- ``GATEWAY_STICKY`` (``0``): ``1`` keeps each client address on one instance (``hash
  $remote_addr consistent``): sticky sessions, for Socket.IO's polling transport
- ``GATEWAY_UPSTREAM_TIMEOUT_S`` (``60``): how long nginx waits on an instance (connect, send,
  read) before counting a failure and trying the next one
- ``GATEWAY_DIR`` (required): a directory of its own for the config, pid and temp files
- ``GATEWAY_API_LIMIT`` / ``GATEWAY_API_BUCKET`` (``100/second`` / ``21``): ``/api/`` per client
  address — the rate (``N/second``, ``N/minute``, ``N/5seconds``…) and the bucket's size, what
  is admitted at once (a rate-limit claim's ``burst``). nginx's own ``burst=N`` admits N + 1 at
  once (its excess is counted beyond the request the rate admits now), so the template is given
  ``burst=BUCKET - 1``
- ``GATEWAY_AUTH_LIMIT`` / ``GATEWAY_AUTH_BUCKET`` (``10/second`` / ``6``): ``/auth/`` likewise
- ``GATEWAY_CONN_LIMIT`` (``64``): requests in flight per client address, then 503
- ``GATEWAY_MAX_FAILS`` / ``GATEWAY_FAIL_TIMEOUT_S`` (``3`` / ``30``): the upstream's
- ``GATEWAY_NGINX``: the nginx binary (default: ``nginx`` on PATH, else /usr/sbin/nginx)
- ``GATEWAY_NO_LIMIT_REQ`` (broken variant): render without any ``limit_req`` line
- ``GATEWAY_NO_LIMIT_CONN`` (broken variant): render without any ``limit_conn`` line
- ``GATEWAY_NO_MAX_FAILS`` (broken variant): ``max_fails=0``, an instance never marked down

Exit 2 on a bad variable (one line on stderr), 3 when nginx is not installed.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

TEMPLATE = Path(__file__).with_name("nginx.conf")
_FIELD = re.compile(r"@([A-Z_]+)@")
_LIMIT = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour)s?\s*$")
_UNIT_S = {"second": 1, "minute": 60, "hour": 3600}
_TRUE = {"1", "true", "yes", "on"}
_MORE_UPSTREAM = re.compile(r"^GATEWAY_UPSTREAM_(\d+)$")
_ADDRESS = re.compile(r"^[0-9A-Za-z.:\[\]/-]+$")


class GatewayConfigError(ValueError):
    """A variable the gateway cannot use; the message names it."""


def nginx_rate(name: str, text: str) -> str:
    """``"100/second"`` → ``"100r/s"``; ``"10/5seconds"`` → ``"120r/m"``. nginx counts per
    second or per minute only: a limit that is neither a whole number per second nor per minute
    is refused rather than rounded."""
    match = _LIMIT.match(text)
    if not match:
        raise GatewayConfigError(f"{name}: expected e.g. '100/second' or '10/minute', got {text!r}")
    count, multiple, unit = int(match[1]), int(match[2] or 1), match[3]
    window_s = multiple * _UNIT_S[unit]
    if count % window_s == 0:
        return f"{count // window_s}r/s"
    if count * 60 % window_s == 0:
        return f"{count * 60 // window_s}r/m"
    raise GatewayConfigError(f"{name}: {text!r} is neither a whole number per second nor per "
                             "minute, which is all nginx can count")


def _int(env: Mapping[str, str], name: str, default: int, low: int) -> str:
    raw = env.get(name, "").strip() or str(default)
    try:
        value = int(float(raw))
    except ValueError:
        raise GatewayConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if value < low or value != float(raw):
        raise GatewayConfigError(f"{name}: expected a whole number >= {low}, got {raw!r}")
    return str(value)


def _nginx_burst(env: Mapping[str, str], name: str, default: int) -> str:
    """nginx's ``burst`` for a bucket admitting ``name`` requests at once: one fewer."""
    return str(int(_int(env, name, default, 1)) - 1)


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise GatewayConfigError(f"{name} is required")
    return value


def _address(env: Mapping[str, str], name: str, default: str) -> str:
    """An address (or CIDR) for nginx's config: nothing it could read as more than one."""
    value = env.get(name, "").strip() or default
    if not _ADDRESS.match(value):
        raise GatewayConfigError(f"{name}: expected an address such as 127.0.0.1, got {value!r}")
    return value


def upstream(env: Mapping[str, str]) -> str:
    """``GATEWAY_UPSTREAM``, then ``GATEWAY_UPSTREAM_2``, ``_3``… by number: one comma list."""
    more = sorted((int(m[1]), value.strip()) for key, value in env.items()
                  if (m := _MORE_UPSTREAM.match(key)) and value.strip())
    return ",".join([_required(env, "GATEWAY_UPSTREAM"), *(value for _, value in more)])


def fields(env: Mapping[str, str]) -> dict[str, str]:
    """The template's fields from the environment."""
    _required(env, "GATEWAY_PORT")
    values = {
        "HOST": _address(env, "GATEWAY_HOST", "127.0.0.1"),
        "REAL_IP_FROM": _address(env, "GATEWAY_REAL_IP_FROM", "127.0.0.1"),
        "PORT": _int(env, "GATEWAY_PORT", 0, 1),
        "UPSTREAM": upstream(env),
        "UPSTREAM_TIMEOUT_S": _int(env, "GATEWAY_UPSTREAM_TIMEOUT_S", 60, 1),
        "DIR": str(Path(_required(env, "GATEWAY_DIR")).resolve()),
        "API_RATE": nginx_rate("GATEWAY_API_LIMIT", env.get("GATEWAY_API_LIMIT") or "100/second"),
        "API_BURST": _nginx_burst(env, "GATEWAY_API_BUCKET", 21),
        "AUTH_RATE": nginx_rate("GATEWAY_AUTH_LIMIT",
                                env.get("GATEWAY_AUTH_LIMIT") or "10/second"),
        "AUTH_BURST": _nginx_burst(env, "GATEWAY_AUTH_BUCKET", 6),
        "CONN_LIMIT": _int(env, "GATEWAY_CONN_LIMIT", 64, 1),
        "MAX_FAILS": _int(env, "GATEWAY_MAX_FAILS", 3, 0),
        "FAIL_TIMEOUT_S": _int(env, "GATEWAY_FAIL_TIMEOUT_S", 30, 0),
    }
    values["SERVERS"] = servers(values, sticky=env.get("GATEWAY_STICKY", "0").strip().lower()
                                in _TRUE)
    return values


def servers(values: Mapping[str, str], *, max_fails: bool = True, sticky: bool = False
            ) -> str:
    """The upstream's ``server`` lines, one per ``host:port`` of ``GATEWAY_UPSTREAM`` (a comma
    list: several API instances); without ``max_fails`` (the broken variant) nginx never marks
    an instance down, however often it fails. ``sticky``: each client address (after realip:
    the first X-Forwarded-For entry) always reaches the same instance, what Socket.IO's polling
    transport needs (its session lives in one process)."""
    fails = values["MAX_FAILS"] if max_fails else "0"
    lines = [f"server {address.strip()} max_fails={fails} "
             f"fail_timeout={values['FAIL_TIMEOUT_S']}s;"
             for address in values["UPSTREAM"].split(",") if address.strip()]
    if sticky:
        lines.insert(0, "hash $remote_addr consistent;")
    return "\n        ".join(lines)


def render(template: str, values: Mapping[str, str], *, limit_req: bool = True,
           limit_conn: bool = True) -> str:
    """The template with every ``@NAME@`` filled; without ``limit_req`` every line whose
    directive starts with ``limit_req`` is left out (the broken variant: no request limits),
    without ``limit_conn`` every ``limit_conn`` line (no limit on connections per address)."""
    lines = template.splitlines(keepends=True)
    if not limit_req:
        lines = [line for line in lines if not line.lstrip().startswith("limit_req")]
    if not limit_conn:
        lines = [line for line in lines if not line.lstrip().startswith("limit_conn")]
    out = "".join(lines)
    missing = sorted({m for m in _FIELD.findall(out) if m not in values})
    if missing:
        raise GatewayConfigError(f"template field @{missing[0]}@ has no value")
    return _FIELD.sub(lambda m: values[m[1]], out)


def nginx_binary(env: Mapping[str, str]) -> str | None:
    named = env.get("GATEWAY_NGINX")
    if named:
        return named if os.access(named, os.X_OK) else None
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def main() -> int:
    env = os.environ
    try:
        values = fields(env)
        if env.get("GATEWAY_NO_MAX_FAILS", "0").strip().lower() in _TRUE:
            values["SERVERS"] = servers(values, max_fails=False, sticky=env.get(
                "GATEWAY_STICKY", "0").strip().lower() in _TRUE)
        conf = render(TEMPLATE.read_text(encoding="utf-8"), values,
                      limit_req=env.get("GATEWAY_NO_LIMIT_REQ", "0").strip().lower()
                      not in _TRUE,
                      limit_conn=env.get("GATEWAY_NO_LIMIT_CONN", "0").strip().lower()
                      not in _TRUE)
    except GatewayConfigError as exc:
        print(f"stack.gateway: configuration error: {exc}", file=sys.stderr)
        return 2
    nginx = nginx_binary(env)
    if nginx is None:
        print("stack.gateway: nginx not found (apt-get install nginx-light, or set GATEWAY_NGINX)",
              file=sys.stderr)
        return 3
    prefix = Path(values["DIR"])
    prefix.mkdir(parents=True, exist_ok=True)
    path = prefix / "nginx.conf"
    path.write_text(conf, encoding="utf-8")
    print(f'{{"event": "starting", "service": "gateway", "port": {values["PORT"]}, '
          f'"upstream": "{values["UPSTREAM"]}", "limit_req": '
          f'{"false" if "limit_req_zone" not in conf else "true"}}}', flush=True)
    # -e: the error log before the config is read (the packaged default is not writable)
    os.execv(nginx, [nginx, "-p", str(prefix), "-c", str(path), "-e", "stderr",
                     "-g", "daemon off;"])


if __name__ == "__main__":
    sys.exit(main())
