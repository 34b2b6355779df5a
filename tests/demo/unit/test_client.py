"""The role-aware API client (`d07.demo.client`) against an in-memory transport: tokens per role, the problem
body of a refusal, retries of a 503, paging. No service runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import jwt
import pytest

from d07.demo.client import ApiClient, ApiError, Urls
from d07.platform.auth import ensure_dev_keys

URLS = Urls(*(f"http://{name}.test" for name in ("registry", "assessment", "cameras", "awards", "reporting")))


@pytest.fixture(scope="module")
def key_pem(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    key_path, _ = ensure_dev_keys(Path(tmp_path_factory.mktemp("keys")))
    return key_path.read_bytes()


def client(key_pem: bytes, answer: Callable[[httpx.Request], httpx.Response], **kw: object) -> ApiClient:
    return ApiClient(URLS, key_pem, transport=httpx.MockTransport(answer), **kw)  # type: ignore[arg-type]


def claims(request: httpx.Request) -> dict[str, object]:
    token = request.headers["authorization"].removeprefix("Bearer ")
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_urls_by_service_name() -> None:
    assert URLS.of("cameras") == "http://cameras.test"
    assert Urls.local(100).registry == "http://127.0.0.1:8101"
    with pytest.raises(KeyError):
        URLS.of("nowhere")


async def test_a_role_client_calls_with_a_token_of_its_role(key_pem: bytes) -> None:
    seen: list[dict[str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(claims(request))
        return httpx.Response(201, json={"id": "u1"})

    async with client(key_pem, answer) as api:
        made = await api.as_role("unit_officer", "unit-1").post(f"{URLS.registry}/v1/guards", json={})
        await api.as_role("police", subject="csqlhc").get(f"{URLS.cameras}/v1/violations", ok=(201,))
    assert made == {"id": "u1"}
    assert seen[0]["roles"] == ["unit_officer"]
    assert seen[0]["unit_id"] == "unit-1"
    assert seen[0]["sub"] == "demo-unit_officer"
    assert (seen[1]["roles"], seen[1]["sub"]) == (["police"], "csqlhc")
    assert "unit_id" not in seen[1]
    assert api.calls == 2


async def test_tokens_are_minted_once_per_role_unit_and_subject(key_pem: bytes) -> None:
    api = client(key_pem, lambda r: httpx.Response(200), subject_prefix="test")
    admin = api.as_role("admin")
    assert admin.token == api.as_role("admin").token
    assert admin.token != api.as_role("admin", subject="other").token
    assert api.as_role("unit_officer", "a").token != api.as_role("unit_officer", "b").token
    assert claims(httpx.Request("GET", "http://x", headers=admin.headers))["sub"] == "test-admin"
    await api.aclose()


async def test_a_refusal_raises_with_the_status_and_the_problem(key_pem: bytes) -> None:
    problem = {"type": "about:blank", "status": 403, "code": "role_required", "detail": "police only"}

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json=problem, headers={"content-type": "application/problem+json"})

    async with client(key_pem, answer) as api:
        with pytest.raises(ApiError) as caught:
            await api.as_role("auditor").post(f"{URLS.cameras}/v1/cameras", json={}, what="camera C1")
    error = caught.value
    assert (error.status, error.code, error.problem) == (403, "role_required", problem)
    assert str(error).startswith("camera C1: 403 {")
    assert json.loads(error.body) == problem


async def test_a_refusal_without_a_problem_body_names_the_call(key_pem: bytes) -> None:
    async with client(key_pem, lambda r: httpx.Response(500, text="boom")) as api:
        with pytest.raises(ApiError) as caught:
            await api.as_role("admin").get(f"{URLS.registry}/v1/units")
    assert str(caught.value) == f"GET {URLS.registry}/v1/units: 500 boom"
    assert (caught.value.problem, caught.value.code) == (None, "")


async def test_a_503_is_retried_then_answered(key_pem: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([httpx.Response(503), httpx.Response(503), httpx.Response(200, json={"ok": True})])

    async def no_wait(_: float) -> None:
        return None

    monkeypatch.setattr("d07.demo.client.asyncio.sleep", no_wait)
    async with client(key_pem, lambda r: next(answers)) as api:
        assert await api.as_role("admin").get(f"{URLS.registry}/v1/units") == {"ok": True}


async def test_with_one_attempt_a_503_is_the_answer(key_pem: bytes) -> None:
    unavailable = {"code": "unavailable"}
    async with client(key_pem, lambda r: httpx.Response(503, json=unavailable), attempts=1) as api:
        with pytest.raises(ApiError) as caught:
            await api.as_role("admin").get(f"{URLS.registry}/v1/units")
        assert await api.as_role("admin").get(f"{URLS.registry}/v1/units", ok=(503,)) == unavailable
    assert caught.value.status == 503


async def test_all_items_reads_every_page(key_pem: bytes) -> None:
    pages = {"": (["a", "b"], "p2"), "p2": (["c"], "")}

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.params["page_size"] == "500"
        assert request.url.params["status"] == "installed"
        items, after = pages[request.url.params["page_token"]]
        return httpx.Response(200, json={"items": items, "next_page_token": after})

    async with client(key_pem, answer) as api:
        items = await api.as_role("dic_operator").all_items(f"{URLS.cameras}/v1/cameras?status=installed")
    assert items == ["a", "b", "c"]
    assert api.calls == 2
