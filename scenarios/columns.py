"""The sample row's columns, in file order: shared by the Locust-side capture (which must not
import pandas) and the harness-side reader (:mod:`gauntlet.samples`).

Fixed columns first; then, per run, one column for each response header the contract names
(``header:<lower-case name>``, the header's value or empty) and one for each body pattern
(``marker:<name>``, 1 when the answer's body matched). They are typed columns of their own so
a verdict never splits a joined string.
"""

COLUMNS = (
    "t_intended_s", "t_start_s", "latency_ms", "method", "name", "status", "error", "bytes",
    "worker", "client", "token", "phase", "seq",
)
HEADER_PREFIX = "header:"
MARKER_PREFIX = "marker:"


def header_column(header: str) -> str:
    return HEADER_PREFIX + header.lower()


def marker_column(name: str) -> str:
    return MARKER_PREFIX + name
