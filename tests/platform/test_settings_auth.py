"""Settings that refuse bad values, and the auth rules (pure logic: no I/O beyond a temp dir)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
import pytest
from pydantic import ValidationError

from d07.platform.auth import (
    Principal,
    TokenVerifier,
    bearer_token,
    ensure_dev_keys,
    ensure_unit_access,
    issue_token,
    require_roles,
)
from d07.platform.errors import InvalidArgument, PermissionDenied, Unauthenticated
from d07.platform.settings import ServiceSettings
from tests.support.waiting import eventually_sync


def test_outside_dev_missing_or_placeholder_secrets_fail_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("D07_ENV", "prod")
    with pytest.raises(ValidationError, match="D07_DATABASE_URL is required"):
        ServiceSettings()
    monkeypatch.setenv("D07_DATABASE_URL", "postgresql://d07:changeme@db/d07")
    monkeypatch.setenv("D07_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("D07_JWKS_URL", "https://idp.example/jwks")
    with pytest.raises(ValidationError, match="placeholder"):
        ServiceSettings()
    monkeypatch.setenv("D07_DATABASE_URL", "postgresql://d07:Xk2p9vQ7@db/d07")
    assert ServiceSettings().env == "prod"


def test_dev_needs_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("D07_ENV", "D07_DATABASE_URL", "D07_JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    assert ServiceSettings().env == "dev"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, TokenVerifier]:
    key, jwks = ensure_dev_keys(tmp_path_factory.mktemp("keys"))
    return key.read_bytes(), TokenVerifier(issuer="d07-dev", audience="d07", jwks_file=str(jwks))


def test_a_token_round_trips_into_a_principal(keys: tuple[bytes, TokenVerifier]) -> None:
    key, verifier = keys
    p = verifier.verify(issue_token(key, roles=["unit_officer"], subject="can-bo-01", unit_id="u-1"))
    assert (p.subject, p.roles, p.unit_id) == ("can-bo-01", frozenset({"unit_officer"}), "u-1")


def test_bad_tokens_are_unauthenticated(keys: tuple[bytes, TokenVerifier], tmp_path: Path) -> None:
    key, verifier = keys
    expired = issue_token(key, roles=["police"], subject="x", ttl_seconds=-120)
    other_key, _ = ensure_dev_keys(tmp_path)
    foreign = issue_token(other_key.read_bytes(), roles=["police"], subject="x")
    wrong_audience = issue_token(key, roles=["police"], subject="x", audience="elsewhere")
    no_unit = jwt.encode(
        {"sub": "x", "roles": ["unit_officer"], "iss": "d07-dev", "aud": "d07", "exp": int(time.time()) + 60},
        key,
        algorithm="ES256",
        headers={"kid": "d07-dev-1"},
    )
    for token, code in [
        (expired, "expired_token"),
        (foreign, "invalid_token"),
        (wrong_audience, "invalid_token"),
        (no_unit, "no_unit"),
        ("", "missing_token"),
        ("abc", "invalid_token"),
    ]:
        with pytest.raises(Unauthenticated) as err:
            verifier.verify(token)
        assert err.value.code == code


def test_unknown_roles_cannot_be_issued(keys: tuple[bytes, TokenVerifier]) -> None:
    with pytest.raises(InvalidArgument):
        issue_token(keys[0], roles=["superuser"], subject="x")


def test_object_level_access() -> None:
    officer = Principal("o", frozenset({"unit_officer"}), unit_id="u-1")
    auditor = Principal("a", frozenset({"auditor"}))
    police = Principal("p", frozenset({"police"}))
    ensure_unit_access(officer, "u-1", write=True)
    ensure_unit_access(auditor, "u-2")
    ensure_unit_access(police, "u-2", write=True)
    for who, unit, write in [(officer, "u-2", False), (auditor, "u-2", True)]:
        with pytest.raises(PermissionDenied):
            ensure_unit_access(who, unit, write=write)
    with pytest.raises(PermissionDenied):
        require_roles(officer, "admin", "police")
    require_roles(police, "admin", "police")


def test_bearer_header_parsing() -> None:
    assert bearer_token("Bearer abc.def") == "abc.def"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") == ""
    assert bearer_token(None) == ""


class JwksServer:
    """A real HTTP server on loopback serving a JWKS document, counting fetches."""

    def __init__(self, document: dict[str, object]) -> None:
        import http.server
        import threading

        self.document = document
        self.fetches = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                body = json.dumps(outer.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_jwks_url_rotation_is_picked_up_off_the_caller_and_refreshes_are_rate_limited(tmp_path: Path) -> None:
    old_key, old_jwks = ensure_dev_keys(tmp_path / "old")
    new_key, new_jwks = ensure_dev_keys(tmp_path / "new")
    old_doc = json.loads(old_jwks.read_text())
    new_doc = json.loads(new_jwks.read_text())
    new_doc["keys"][0]["kid"] = "rotated-2"
    server = JwksServer(old_doc)
    try:
        verifier = TokenVerifier(
            issuer="d07-dev", audience="d07", jwks_url=server.url, min_refresh_seconds=0.5
        )
        assert (
            verifier.verify(issue_token(old_key.read_bytes(), roles=["police"], subject="a")).subject == "a"
        )
        assert server.fetches == 1
        server.document = {"keys": [*old_doc["keys"], *new_doc["keys"]]}
        rotated = issue_token(new_key.read_bytes(), roles=["police"], subject="b", kid="rotated-2")
        # The unknown key id starts a background refresh; this call does not wait for it.
        with pytest.raises(Unauthenticated) as err:
            verifier.verify(rotated)
        assert err.value.code == "unknown_key"

        def verified() -> str | None:
            try:
                return verifier.verify(rotated).subject
            except Unauthenticated:
                return None

        assert eventually_sync(verified, within=5, interval=0.05, what="the rotated key fetched") == "b"
        fetched = server.fetches
        # A burst of made-up key ids costs at most one fetch per min_refresh_seconds.
        for n in range(50):
            with pytest.raises(Unauthenticated):
                verifier.verify(
                    issue_token(new_key.read_bytes(), roles=["police"], subject="x", kid=f"made-up-{n}")
                )
        time.sleep(0.2)
        assert server.fetches - fetched <= 1
    finally:
        server.close()
