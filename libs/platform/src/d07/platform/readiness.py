"""Readiness: can this process serve? Database reachable, migrations applied, broker reachable.

One `Readiness` per process, shared by HTTP `/readyz` and the gRPC health service, so both always agree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg

from d07.platform.db import Migration, pending_migrations

Check = Callable[[], Awaitable[str | None]]  # None when fine, else the reason it is not


@dataclass
class Readiness:
    checks: dict[str, Check] = field(default_factory=dict)
    timeout: float = 2.0

    def add(self, name: str, check: Check) -> None:
        self.checks[name] = check

    async def report(self) -> dict[str, str]:
        """Every check's state: "ok" or the reason it failed."""

        async def run(check: Check) -> str:
            try:
                reason = await asyncio.wait_for(check(), self.timeout)
            except TimeoutError:
                return "timed out"
            except Exception as exc:  # a failing dependency is a state to report, not a crash
                return f"{type(exc).__name__}: {exc}"
            return reason or "ok"

        names = list(self.checks)
        results = await asyncio.gather(*(run(self.checks[n]) for n in names))
        return dict(zip(names, results, strict=True))

    async def ready(self) -> bool:
        return all(v == "ok" for v in (await self.report()).values())


def database_check(pool: asyncpg.Pool, *, schema: str, migrations: list[Migration]) -> Check:
    async def check() -> str | None:
        async with pool.acquire(timeout=1.5) as conn:
            missing = await pending_migrations(conn, schema=schema, migrations=migrations)
        return f"migrations not applied: {', '.join(missing)}" if missing else None

    return check


def broker_check(bootstrap: str) -> Check:
    """The broker answers on at least one bootstrap address (a Kafka ApiVersions round trip)."""

    async def check() -> str | None:
        from aiokafka.client import AIOKafkaClient

        from d07.platform.events.kafka import client_kwargs

        client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=1500, **client_kwargs())
        try:
            await client.bootstrap()
        finally:
            await client.close()
        return None

    return check
