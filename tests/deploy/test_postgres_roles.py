"""The PostgreSQL identities of deploy/postgres/roles.sql on the real server: per service a migrator that owns
the schema and runs the migrations, and a runtime role that can do what the services do at run time (DML,
NOTIFY through the outbox trigger, LISTEN, advisory locks, reading schema_migrations for readiness) and
nothing else: no CREATE, ALTER or DROP, no disabling the audit trail's append-only triggers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from d07.platform.db import create_pool, pending_migrations
from d07.platform.runtime import migrations as migrations_of
from d07.platform.runtime import run_migrate
from d07.platform.settings import ServiceSettings
from registry.bootstrap import SPEC
from tests.conftest import throwaway_database

ROOT = Path(__file__).resolve().parents[2]
ROLES_SQL = ROOT / "deploy" / "postgres" / "roles.sql"
SERVICES_LINE = "SELECT set_config('d07.services', 'registry,assessment,cameras,awards,reporting', false);"


def as_user(url: str, user: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


@pytest.fixture
async def roles(pg_server_url: str) -> AsyncIterator[tuple[str, str, str]]:
    """A fresh database with roles.sql run for one uniquely named service: (service, migrator URL, runtime
    URL). The roles are dropped afterwards (they are server-wide)."""
    service = f"rt{uuid.uuid4().hex[:8]}"
    text = ROLES_SQL.read_text()
    assert SERVICES_LINE in text
    text = text.replace(SERVICES_LINE, f"SELECT set_config('d07.services', '{service}', false);")
    async with throwaway_database(pg_server_url, prefix="d07_roles") as url:
        admin = await asyncpg.connect(url)
        try:
            await admin.execute(text)
            # Idempotent: a second run changes nothing and fails on nothing.
            await admin.execute(text)
        finally:
            await admin.close()
        try:
            yield service, as_user(url, f"d07_{service}_migrator"), as_user(url, f"d07_{service}")
        finally:
            admin = await asyncpg.connect(url)
            try:
                for role in (f"d07_{service}_migrator", f"d07_{service}"):
                    await admin.execute(f'DROP OWNED BY "{role}" CASCADE')
            finally:
                await admin.close()
    server = await asyncpg.connect(pg_server_url)
    try:
        for role in (f"d07_{service}_migrator", f"d07_{service}"):
            await server.execute(f'DROP ROLE IF EXISTS "{role}"')
    finally:
        await server.close()


async def test_the_runtime_role_has_dml_only(roles: tuple[str, str, str]) -> None:
    service, migrator_url, runtime_url = roles
    migrations = migrations_of(SPEC)
    # `migrate` as the chart runs it: D07_DATABASE_URL the runtime role, D07_MIGRATOR_DATABASE_URL the
    # migrator.
    # The runtime role alone could not migrate.
    runtime_only = ServiceSettings(service=service, database_url=runtime_url)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await run_migrate(SPEC, runtime_only)
    settings = ServiceSettings(service=service, database_url=runtime_url, migrator_database_url=migrator_url)
    applied = await run_migrate(SPEC, settings)
    assert len(applied) == len(migrations), "the migrator did not apply every migration"
    conn = await asyncpg.connect(migrator_url)
    try:
        owner = await conn.fetchval(
            "SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND tablename = 'units'", service
        )
        assert owner == f"d07_{service}_migrator"
    finally:
        await conn.close()

    pool = await create_pool(runtime_url, schema=service, min_size=1, max_size=2)
    try:
        async with pool.acquire() as c:
            conn = c
            assert await conn.fetchval("SELECT current_user") == f"d07_{service}"
            # What the services do at run time.
            assert await pending_migrations(conn, schema=service, migrations=migrations) == []
            heard: list[object] = []

            def on_notify(*args: object) -> None:
                heard.append(args)

            await conn.add_listener(f"d07_outbox_{service}", on_notify)
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(42)")
                event_id = uuid.uuid4()
                await conn.execute(
                    "INSERT INTO outbox (topic, key, event_id, event_type, payload)"
                    " VALUES ($1, 'k', $2, 't', '')",
                    f"d07.{service}.units.v1",
                    event_id,
                )  # the NOTIFY trigger runs as the runtime role
                await conn.execute(
                    'INSERT INTO inbox (event_id, consumer, topic, partition, "offset")'
                    " VALUES ($1, 'c', 't', 0, 0)",
                    event_id,
                )
                await conn.execute(
                    "INSERT INTO audit_log (actor, action, object_type, object_id)"
                    " VALUES ('a', 'x', 'unit', '1')"
                )
                await conn.execute("UPDATE inbox SET partition = 1 WHERE event_id = $1", event_id)
                await conn.execute("DELETE FROM outbox WHERE event_id = $1", event_id)
                assert await conn.fetchval("SELECT count(*) FROM inbox") == 1
            await conn.execute("SELECT 1")  # let the notification of the commit arrive
            assert heard, "the outbox trigger's NOTIFY did not reach the runtime role's LISTEN"
            await conn.remove_listener(f"d07_outbox_{service}", on_notify)
            assert await conn.fetchval("SELECT pg_try_advisory_lock(7)") is True
            await conn.execute("SELECT pg_advisory_unlock(7)")
            # The audit trail stays append-only, and its guard cannot be switched off.
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute("DELETE FROM audit_log")
            refused = [
                "CREATE TABLE sneaky (id int)",
                "CREATE TABLE public.sneaky (id int)",
                "ALTER TABLE outbox ADD COLUMN sneaky int",
                "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
                "DROP TABLE inbox",
                "CREATE INDEX sneaky ON outbox (key)",
                "CREATE FUNCTION sneaky() RETURNS int LANGUAGE sql AS 'SELECT 1'",
                "TRUNCATE outbox",
                f'CREATE SCHEMA "{service}_2"',
            ]
            for statement in refused:
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(statement)  # the failure names the statement that was allowed
    finally:
        await pool.close()

    # A later migration (as the migrator) is covered by the default privileges: the runtime role can use its
    # new table at once, and still not alter it.
    conn = await asyncpg.connect(migrator_url)
    try:
        await conn.execute(f'CREATE TABLE "{service}".later (id bigserial PRIMARY KEY, note text)')
    finally:
        await conn.close()
    conn = await asyncpg.connect(runtime_url, server_settings={"search_path": service})
    try:
        await conn.execute("INSERT INTO later (note) VALUES ('ok')")
        assert await conn.fetchval("SELECT note FROM later") == "ok"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("ALTER TABLE later DROP COLUMN note")
    finally:
        await conn.close()


def test_the_chart_runs_the_same_roles_sql() -> None:
    """CloudNativePG bootstraps with the chart's copy (a chart reads only its own files): the same text."""
    assert (ROOT / "deploy" / "k8s" / "chart" / "files" / "roles.sql").read_text() == ROLES_SQL.read_text()
