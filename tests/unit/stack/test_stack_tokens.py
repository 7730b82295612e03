"""Access tokens: round trip, forgery, expiry, and short secrets (warnings are errors here)."""

from __future__ import annotations

import time

import jwt

from stack.api.tokens import TokenService, bearer_token, subject_from_scope


def test_round_trip() -> None:
    tokens = TokenService("a" * 40, ttl_s=60)
    assert tokens.verify(tokens.issue("alice")) == "alice"


def test_short_secret_signs_without_a_warning() -> None:
    tokens = TokenService("short", ttl_s=60)  # PyJWT would warn below 32 bytes
    assert tokens.verify(tokens.issue("bob")) == "bob"


def test_forged_and_garbage_tokens_are_refused() -> None:
    mine, theirs = TokenService("a" * 40, 60), TokenService("b" * 40, 60)
    assert mine.verify(theirs.issue("mallory")) is None
    assert mine.verify("not.a.token") is None
    unsigned = jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, None, algorithm="none")
    assert mine.verify(unsigned) is None


def test_expired_tokens_are_refused() -> None:
    tokens = TokenService("a" * 40, ttl_s=-1)
    assert tokens.verify(tokens.issue("alice")) is None


def test_bearer_header_parsing_and_caching() -> None:
    tokens = TokenService("a" * 40, 60)
    good = tokens.issue("carol")
    scope: dict[str, object] = {"headers": [(b"authorization", f"Bearer {good}".encode())]}
    assert bearer_token(scope) == good
    assert subject_from_scope(scope, tokens) == "carol"
    assert scope["gauntlet.subject"] == "carol"
    assert bearer_token({"headers": [(b"authorization", b"Basic Zm9vOmJhcg==")]}) is None
    assert bearer_token({"headers": []}) is None
