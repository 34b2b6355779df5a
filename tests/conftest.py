"""Session fixtures shared by every test: a real PostgreSQL and a real Kafka-protocol broker.

PostgreSQL: D07_TEST_DATABASE_URL when set (a server of the machine; each session makes a throwaway database
and drops it), else a private server started here in .run/. The broker: a Tansu process on a free loopback
port, started here for the session.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from d07.platform.devstack.broker import Broker
from d07.platform.devstack.postgres import Postgres

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / ".run"


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    RUN.mkdir(exist_ok=True)
    b = Broker(log_path=RUN / f"test-broker-{os.getpid()}.log").start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of a server on which tests may create databases."""
    url = os.environ.get("D07_TEST_DATABASE_URL")
    if url:
        yield url
        return
    datadir = RUN / f"test-pg-{os.getpid()}" / "data"
    server = Postgres(datadir).start()
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(datadir.parent, ignore_errors=True)


@asynccontextmanager
async def throwaway_database(pg_server_url: str, prefix: str = "d07_test") -> AsyncIterator[str]:
    """A new database on the server, dropped on exit; its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base, _, _ = pg_server_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(pg_server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(scope="session")
async def database_url(pg_server_url: str) -> AsyncIterator[str]:
    """A throwaway database for this test session, dropped at the end."""
    async with throwaway_database(pg_server_url) as url:
        yield url


def unique(prefix: str = "t") -> str:
    """A unique name per test instead of wiping databases."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


# The five services as processes, for end-to-end and service-level tests (session-scoped).
from tests.support.services import platform  # noqa: E402

__all__ = ["platform"]
