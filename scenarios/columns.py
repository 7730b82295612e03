"""The sample row's columns, in file order: shared by the Locust-side capture (which must not
import pandas) and the harness-side reader (:mod:`gauntlet.samples`)."""

COLUMNS = (
    "t_intended_s", "t_start_s", "latency_ms", "method", "name", "status", "error", "bytes",
    "worker", "ref",
)
