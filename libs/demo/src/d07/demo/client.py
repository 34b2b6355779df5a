"""One client of the platform's public HTTP APIs, speaking as a role: what the demo loader, the simulated
gateway and the tests use instead of each signing tokens and checking statuses on its own.

    api = ApiClient(urls, key_pem)
    police = api.as_role("police", subject="csqlhc-xac-minh")
    officer = api.as_role("unit_officer", unit_id=unit)
    made = await officer.post(f"{urls.registry}/v1/guards", json=body, what="guard")
    everything = await police.all_items(f"{urls.cameras}/v1/violations")

A token is signed with the given key per (role, unit, subject) the first time it is needed and kept until
shortly before it expires. A status outside `ok` raises `ApiError` carrying the status and the problem body
(RFC 9457); a 503 (a service starting or restarting) and a broken connection are retried a few times.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, fields
from types import TracebackType
from typing import Any, Self

import httpx

from d07.platform.auth import issue_token

TOKEN_TTL = 12 * 3600
# A token is minted again this long before it expires (a long-running gateway keeps working).
TOKEN_MARGIN = 600


@dataclass(frozen=True)
class Urls:
    """The base URL of each service's HTTP API."""

    registry: str
    assessment: str
    cameras: str
    awards: str
    reporting: str

    @classmethod
    def local(cls, offset: int = 0) -> Urls:
        return cls(*(f"http://127.0.0.1:{port + offset}" for port in (8001, 8002, 8003, 8004, 8005)))

    def of(self, service: str) -> str:
        if service not in {f.name for f in fields(self)}:
            raise KeyError(f"no service {service!r}")
        return str(getattr(self, service))


class ApiError(RuntimeError):
    """A call answered with a status it was not expected to: the call, the status and the problem body."""

    def __init__(self, what: str, status: int, body: str, problem: dict[str, Any] | None) -> None:
        super().__init__(f"{what}: {status} {body[:800]}")
        self.what = what
        self.status = status
        self.body = body
        # The RFC 9457 problem (code, detail, errors ...) when the body is one; None otherwise.
        self.problem = problem

    @property
    def code(self) -> str:
        """The problem's machine-readable code ("" when the body carries none)."""
        return str((self.problem or {}).get("code", ""))


class ApiClient:
    """The services' HTTP APIs behind one connection pool; `as_role` gives a client that calls as a role.

    `attempts` is how often a call is tried when the service answers 503 or the connection fails (1: once,
    as a test that checks a 503 wants it). `subject_prefix` names the default subject of a role's token
    (`<prefix>-<role>`)."""

    def __init__(
        self,
        urls: Urls,
        key_pem: bytes,
        *,
        concurrency: int = 16,
        timeout: float = 30.0,
        attempts: int = 5,
        subject_prefix: str = "demo",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts is at least 1")
        self.urls = urls
        self._key = key_pem
        self._attempts = attempts
        self._prefix = subject_prefix
        self._tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._limit = asyncio.Semaphore(concurrency)
        self._http = httpx.AsyncClient(
            timeout=timeout,
            limits=httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=64),
            transport=transport,
        )
        # Calls answered (whatever the status), for the loader's report.
        self.calls = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def token(self, role: str, *, unit_id: str | None = None, subject: str = "") -> str:
        """A bearer token of `role` (a unit officer's bound to `unit_id`), minted once, kept while valid."""
        key = (role, subject, unit_id or "")
        known = self._tokens.get(key)
        if known is not None and time.time() < known[1]:
            return known[0]
        token = issue_token(
            self._key,
            roles=[role],
            subject=subject or f"{self._prefix}-{role}",
            unit_id=unit_id or None,
            ttl_seconds=TOKEN_TTL,
        )
        self._tokens[key] = (token, time.time() + TOKEN_TTL - TOKEN_MARGIN)
        return token

    def as_role(self, role: str, unit_id: str | None = None, *, subject: str = "") -> RoleClient:
        """A client whose calls carry a token of `role` (and `unit_id`, `subject` when given)."""
        return RoleClient(self, role, unit_id=unit_id, subject=subject)

    async def request(
        self,
        method: str,
        url: str,
        *,
        token: str,
        json: Any = None,
        ok: Iterable[int] = (200, 201),
        what: str = "",
    ) -> Any:
        """One call; its JSON body (None when empty), or ApiError when the status is not in `ok`."""
        headers = {"Authorization": f"Bearer {token}"}
        last = self._attempts - 1
        async with self._limit:
            for attempt in range(self._attempts):
                try:
                    r = await self._http.request(method, url, json=json, headers=headers)
                except httpx.TransportError:
                    if attempt == last:
                        raise
                    await asyncio.sleep(0.5 * (attempt + 1))
                    continue
                if r.status_code == 503 and attempt < last:  # a service not ready yet (or restarting)
                    await asyncio.sleep(0.5 * (attempt + 1))
                    continue
                break
        self.calls += 1
        if r.status_code not in tuple(ok):
            raise ApiError(what or f"{method} {url}", r.status_code, r.text, _problem(r))
        return r.json() if r.content else None


class RoleClient:
    """Calls as one role (see `ApiClient.as_role`)."""

    def __init__(self, api: ApiClient, role: str, *, unit_id: str | None = None, subject: str = "") -> None:
        self.api = api
        self.role = role
        self.unit_id = unit_id
        self.subject = subject

    @property
    def token(self) -> str:
        return self.api.token(self.role, unit_id=self.unit_id, subject=self.subject)

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header, for a caller that sends a request of its own."""
        return {"Authorization": f"Bearer {self.token}"}

    async def call(
        self, method: str, url: str, *, json: Any = None, ok: Iterable[int] = (200, 201), what: str = ""
    ) -> Any:
        return await self.api.request(method, url, token=self.token, json=json, ok=ok, what=what)

    async def get(self, url: str, *, ok: Iterable[int] = (200,), what: str = "") -> Any:
        return await self.call("GET", url, ok=ok, what=what)

    async def post(
        self, url: str, *, json: Any = None, ok: Iterable[int] = (200, 201), what: str = ""
    ) -> Any:
        return await self.call("POST", url, json=json, ok=ok, what=what)

    async def put(self, url: str, *, json: Any = None, ok: Iterable[int] = (200, 201), what: str = "") -> Any:
        return await self.call("PUT", url, json=json, ok=ok, what=what)

    async def delete(self, url: str, *, ok: Iterable[int] = (200, 204), what: str = "") -> Any:
        return await self.call("DELETE", url, ok=ok, what=what)

    async def all_items(self, url: str, *, page_size: int = 500) -> list[dict[str, Any]]:
        """Every item of a paged list (`items`, `next_page_token`), page after page."""
        items: list[dict[str, Any]] = []
        token = ""
        sep = "&" if "?" in url else "?"
        while True:
            page = await self.call("GET", f"{url}{sep}page_size={page_size}&page_token={token}")
            items += page["items"]
            token = page["next_page_token"]
            if not token:
                return items


def _problem(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
