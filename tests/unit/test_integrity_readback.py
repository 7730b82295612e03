"""The integrity read-back's tokens as text, whatever the driver handed over: on a SQL_ASCII
database psycopg answers text columns as bytes (the real database: tests/e2e/
test_integrity_encodings.py)."""

from __future__ import annotations

from gauntlet.chaos.integrity import as_text


def test_a_token_answered_as_bytes_reads_as_the_token() -> None:
    """Old code: str(b"ab12") is "b'ab12'", which matches no token: every write read LOST."""
    assert as_text(b"ab12") == "ab12"
    assert as_text(memoryview(b"ab12")) == "ab12"
    assert as_text(bytearray(b"caf\xe9")) == "caf\ufffd"  # not UTF-8: replaced, never raised
    assert as_text("ab12") == "ab12"
