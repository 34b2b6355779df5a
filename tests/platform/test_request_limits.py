"""Request size limits (issue 13 item 8): a huge header is refused by the HTTP server before the app reads
it (431, not the 401 it used to get after reading 16 MB), a body past D07_HTTP_MAX_BODY_BYTES is 413, and the
gRPC server's receive limit is explicit (RESOURCE_EXHAUSTED)."""

from __future__ import annotations

import socket
import time
import uuid

import grpc
import httpx
import pytest

from d07.platform.settings import ServiceSettings
from d07.registry.v1 import registry_pb2
from d07.registry.v1 import registry_pb2_grpc as registry_grpc
from tests.support.services import Platform

LIMIT = ServiceSettings().http_max_header_bytes
BODY_LIMIT = ServiceSettings().http_max_body_bytes


def raw_request(port: int, head: bytes, send_mb: int = 16) -> tuple[bytes, int]:
    """Send a request head carrying a `send_mb` MB header; the answer and how many bytes were accepted
    before the server answered and closed."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(head)
        chunk = b"a" * 65536
        try:
            while sent < send_mb * 1024 * 1024:
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
        except ConnectionResetError:
            pass
    return answer, sent


def test_a_16_mb_header_is_refused_before_it_is_read(platform: Platform) -> None:
    head = b"GET /v1/units HTTP/1.1\r\nHost: registry\r\nX-Junk: "
    started = time.monotonic()
    answer, sent = raw_request(platform["registry"].http, head)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"application/problem+json" in answer
    assert b'"code": "header_too_large"' in answer
    assert sent < 16 * 1024 * 1024  # the server closed the connection instead of reading it all
    assert time.monotonic() - started < 20


def test_many_headers_past_the_limit_are_431_and_a_normal_request_still_passes(platform: Platform) -> None:
    headers = {f"x-h{i}": "v" * 100 for i in range(LIMIT // 100 + 10)}
    r = httpx.get(f"{platform['registry'].url}/v1/units", headers=headers, timeout=20)
    assert r.status_code == 431
    assert r.headers["content-type"] == "application/problem+json"
    r = httpx.get(f"{platform['registry'].url}/v1/units", timeout=20)
    assert r.status_code == 401  # a request within the limits reaches the app


def test_a_body_past_the_limit_is_413(platform: Platform) -> None:
    url = f"{platform['registry'].url}/v1/units"
    r = httpx.post(url, content=b"{" + b" " * BODY_LIMIT + b"}", headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["code"] == "payload_too_large"

    def chunks():  # no Content-Length: counted as it comes
        for _ in range(BODY_LIMIT // 65536 + 2):
            yield b" " * 65536

    r = httpx.post(
        url,
        content=chunks(),
        headers={**platform.headers("admin"), "content-type": "application/json"},
        timeout=60,
    )
    assert r.status_code == 413


async def test_a_grpc_message_past_the_receive_limit_is_resource_exhausted(platform: Platform) -> None:
    too_many = [str(uuid.uuid4()) for _ in range(ServiceSettings().grpc_max_receive_bytes // 36 + 10)]
    async with grpc.aio.insecure_channel(platform["registry"].target) as channel:
        stub = registry_grpc.RegistryServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.BatchGetUnits(
                registry_pb2.BatchGetUnitsRequest(ids=too_many),
                metadata=platform.metadata("admin"),
                timeout=20,
            )
    assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
