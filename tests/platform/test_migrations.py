"""The migration runner against a real PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from d07.platform.db import MigrationError, all_migrations, load_migrations, migrate, pending_migrations
from tests.conftest import unique


def write(dir_: Path, name: str, sql: str) -> None:
    dir_.mkdir(parents=True, exist_ok=True)
    (dir_ / name).write_text(sql, encoding="utf-8")


async def test_applies_in_order_records_checksums_and_is_idempotent(
    database_url: str, tmp_path: Path
) -> None:
    schema = unique("mig")
    write(tmp_path, "0001_units.sql", "CREATE TABLE units (id int PRIMARY KEY, name text NOT NULL);")
    write(tmp_path, "0002_seed.sql", "INSERT INTO units VALUES (1, 'Trường THPT Chu Văn An');")
    migrations = all_migrations(schema, tmp_path)
    conn = await asyncpg.connect(database_url)
    try:
        assert await pending_migrations(conn, schema=schema, migrations=migrations) == [
            "platform/0001_outbox_inbox_audit.sql",
            "platform/0002_audit_log_filters.sql",
            f"{schema}/0001_units.sql",
            f"{schema}/0002_seed.sql",
        ]
        applied = await migrate(conn, schema=schema, migrations=migrations)
        assert applied == [
            "platform/0001_outbox_inbox_audit.sql",
            "platform/0002_audit_log_filters.sql",
            f"{schema}/0001_units.sql",
            f"{schema}/0002_seed.sql",
        ]
        assert (
            await conn.fetchval(f'SELECT name FROM "{schema}".units WHERE id = 1') == "Trường THPT Chu Văn An"
        )
        assert await migrate(conn, schema=schema, migrations=migrations) == []
        assert await pending_migrations(conn, schema=schema, migrations=migrations) == []
        rows = await conn.fetch(
            f'SELECT source, version, checksum FROM "{schema}".schema_migrations ORDER BY 1, 2'
        )
        assert {(r["source"], r["version"]) for r in rows} == {
            ("platform", "0001"),
            ("platform", "0002"),
            (schema, "0001"),
            (schema, "0002"),
        }
        assert all(len(r["checksum"]) == 64 for r in rows)
    finally:
        await conn.close()


async def test_a_changed_applied_file_is_an_error(database_url: str, tmp_path: Path) -> None:
    schema = unique("mig")
    write(tmp_path, "0001_t.sql", "CREATE TABLE t (id int);")
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn, schema=schema, migrations=load_migrations(schema, tmp_path))
        write(tmp_path, "0001_t.sql", "CREATE TABLE t (id bigint);")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(conn, schema=schema, migrations=load_migrations(schema, tmp_path))
    finally:
        await conn.close()


async def test_a_failing_file_rolls_back_alone(database_url: str, tmp_path: Path) -> None:
    schema = unique("mig")
    write(tmp_path, "0001_ok.sql", "CREATE TABLE ok (id int);")
    write(tmp_path, "0002_bad.sql", "CREATE TABLE bad (id int); SELECT no_such_function();")
    conn = await asyncpg.connect(database_url)
    try:
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await migrate(conn, schema=schema, migrations=load_migrations(schema, tmp_path))
        assert await conn.fetchval(f"SELECT to_regclass('\"{schema}\".ok') IS NOT NULL")
        assert not await conn.fetchval(f"SELECT to_regclass('\"{schema}\".bad') IS NOT NULL")
        assert await pending_migrations(
            conn, schema=schema, migrations=load_migrations(schema, tmp_path)
        ) == [f"{schema}/0002_bad.sql"]
    finally:
        await conn.close()


async def test_two_replicas_migrating_at_once_apply_each_file_once(database_url: str, tmp_path: Path) -> None:
    schema = unique("mig")
    # A slow migration: the second replica must wait on the advisory lock, then find nothing to do.
    write(
        tmp_path,
        "0001_slow.sql",
        "SELECT pg_sleep(0.5); CREATE TABLE counter (n int); INSERT INTO counter VALUES (1);",
    )
    migrations = load_migrations(schema, tmp_path)
    a, b = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        results = await asyncio.gather(
            migrate(a, schema=schema, migrations=migrations), migrate(b, schema=schema, migrations=migrations)
        )
        assert sorted(len(r) for r in results) == [0, 1]
        assert await a.fetchval(f'SELECT count(*) FROM "{schema}".counter') == 1
    finally:
        await a.close()
        await b.close()


def test_misnamed_file_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "units.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match=r"NNNN_what\.sql"):
        load_migrations("x", tmp_path)


async def test_audit_log_is_append_only(database_url: str, tmp_path: Path) -> None:
    schema = unique("mig")
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn, schema=schema, migrations=all_migrations(schema, None))
        await conn.execute(
            f'INSERT INTO "{schema}".audit_log (actor, action, object_type, object_id) '
            "VALUES ('a', 'create', 'unit', '1')"
        )
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute(f"UPDATE \"{schema}\".audit_log SET actor = 'b'")
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute(f'DELETE FROM "{schema}".audit_log')
    finally:
        await conn.close()
