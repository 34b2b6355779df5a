"""Forged and garbled tokens are refused as Unauthenticated (401 / UNAUTHENTICATED), never a crash (500):
each key is bound to its algorithm, and whatever the JWT library raises on a token is the caller's fault."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from d07.platform.auth import TokenVerifier, ensure_dev_keys, issue_token
from d07.platform.errors import Unauthenticated


def b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, TokenVerifier]:
    key_path, jwks_path = ensure_dev_keys(Path(tmp_path_factory.mktemp("keys")))
    return key_path.read_bytes(), TokenVerifier(issuer="d07-dev", audience="d07", jwks_file=str(jwks_path))


FORGED = {
    # The token of the report: an RS256 header naming the EC key (TypeError in the library before).
    "rs256_on_ec_key": f"{b64({'alg': 'RS256', 'kid': 'd07-dev-1'})}.{b64({'sub': 'x'})}.AAAA",
    "hs256_on_ec_key": f"{b64({'alg': 'HS256', 'kid': 'd07-dev-1'})}.{b64({'sub': 'x'})}.AAAA",
    "alg_none": f"{b64({'alg': 'none', 'kid': 'd07-dev-1'})}.{b64({'sub': 'x'})}.",
    "no_alg": f"{b64({'kid': 'd07-dev-1'})}.{b64({'sub': 'x'})}.AAAA",
    "kid_not_a_string": f"{b64({'alg': 'ES256', 'kid': ['x']})}.{b64({'sub': 'x'})}.AAAA",
    "unknown_kid": f"{b64({'alg': 'ES256', 'kid': 'other'})}.{b64({'sub': 'x'})}.AAAA",
    "header_not_json": "a.b.c",
    "empty_parts": "....",
    "header_a_list": f"{b64([1])}.{b64(1)}.AA",
    "bad_signature": f"{b64({'alg': 'ES256', 'kid': 'd07-dev-1'})}.{b64({'sub': 'x'})}.AAAA",
}


@pytest.mark.parametrize("token", FORGED.values(), ids=FORGED.keys())
def test_a_forged_token_is_unauthenticated(keys: tuple[bytes, TokenVerifier], token: str) -> None:
    _, verifier = keys
    with pytest.raises(Unauthenticated):
        verifier.verify(token)


def test_a_real_token_still_passes(keys: tuple[bytes, TokenVerifier]) -> None:
    private, verifier = keys
    token = issue_token(private, roles=["police"], subject="officer-1")
    assert verifier.verify(token).subject == "officer-1"
