"""PostgreSQL: the asyncpg pool and the migration runner.

Every service owns one schema. Migrations are ordered SQL files `NNNN_what.sql`: first the platform's own
(outbox, inbox, audit trail), then the service's. Each file runs in its own transaction with `search_path`
set to the service's schema, its SHA-256 is recorded, a changed file that was already applied is an error,
and a PostgreSQL advisory lock keeps two replicas from migrating at once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg

from d07.platform.logging import get_logger

log = get_logger(__name__)

PLATFORM_MIGRATIONS = Path(__file__).parent.parent / "migrations"
_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    # A connection of the caller's: a plain one, or one acquired from a pool.
    Conn = asyncpg.Connection[Any] | PoolConnectionProxy[Any]
else:
    Conn = Any


class MigrationError(RuntimeError):
    """A migration file is malformed, or an applied file was changed afterwards."""


@dataclass(frozen=True)
class Migration:
    source: str  # "platform" or the service name
    version: str  # "0001"
    name: str  # file name
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def quote_ident(name: str) -> str:
    """A schema or table name from configuration, checked and quoted."""
    if not _IDENT.match(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return f'"{name}"'


def load_migrations(source: str, directory: Path) -> list[Migration]:
    found: list[Migration] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.sql")):
        match = _FILE.match(path.name)
        if not match:
            raise MigrationError(f"{path}: migration files are named NNNN_what.sql")
        version = match.group(1)
        if version in seen:
            raise MigrationError(f"{path}: version {version} appears twice in {directory}")
        seen.add(version)
        found.append(Migration(source, version, path.name, path.read_text(encoding="utf-8")))
    return found


def all_migrations(service: str, service_dir: Path | None) -> list[Migration]:
    migrations = load_migrations("platform", PLATFORM_MIGRATIONS)
    if service_dir is not None:
        migrations += load_migrations(service, service_dir)
    return migrations


async def create_pool(dsn: str, *, schema: str, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections use the service's schema first, speak UTC and decode JSON."""

    async def init(conn: asyncpg.Connection) -> None:
        await conn.set_type_codec("jsonb", encoder=_json_dumps, decoder=_json_loads, schema="pg_catalog")
        await conn.set_type_codec("json", encoder=_json_dumps, decoder=_json_loads, schema="pg_catalog")

    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=init,
        server_settings={"search_path": f"{quote_ident(schema)},public", "timezone": "UTC"},
        command_timeout=60,
    )
    assert pool is not None
    return pool


def _json_dumps(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


def _json_loads(value: str) -> Any:
    import json

    return json.loads(value)


def _lock_key(schema: str) -> int:
    # A stable signed 64-bit key per schema for pg_advisory_lock.
    digest = hashlib.sha256(f"d07-migrate:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def migrate(conn: Conn, *, schema: str, migrations: list[Migration]) -> list[str]:
    """Apply what is missing, in order, under an advisory lock. Returns the names applied now."""
    q = quote_ident(schema)
    key = _lock_key(schema)
    await conn.execute("SELECT pg_advisory_lock($1)", key)
    try:
        # Only when missing: a migrator role that owns its schema (deploy/postgres/roles.sql) has no CREATE
        # on the database, which even CREATE SCHEMA IF NOT EXISTS asks for.
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema):
            await conn.execute(f"CREATE SCHEMA {q}")
        await conn.execute(
            f"""CREATE TABLE IF NOT EXISTS {q}.schema_migrations (
                    source text NOT NULL,
                    version text NOT NULL,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (source, version))"""
        )
        rows = await conn.fetch(f"SELECT source, version, name, checksum FROM {q}.schema_migrations")
        applied = {(r["source"], r["version"]): r for r in rows}
        done: list[str] = []
        for m in migrations:
            row = applied.get((m.source, m.version))
            if row is not None:
                if row["checksum"] != m.checksum:
                    raise MigrationError(
                        f"{m.source}/{m.name} was changed after it was applied to schema {schema} "
                        f"(recorded {row['checksum'][:12]}, file {m.checksum[:12]}); "
                        "add a new migration instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(f"SET LOCAL search_path TO {q}, public")
                await conn.execute(m.sql)
                await conn.execute(
                    f"INSERT INTO {q}.schema_migrations (source, version, name, checksum) "
                    "VALUES ($1, $2, $3, $4)",
                    m.source,
                    m.version,
                    m.name,
                    m.checksum,
                )
            log.info("migration_applied", schema=schema, migration=f"{m.source}/{m.name}")
            done.append(f"{m.source}/{m.name}")
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", key)


async def pending_migrations(conn: Conn, *, schema: str, migrations: list[Migration]) -> list[str]:
    """Names of migrations not yet applied (readiness reports not-ready while any remain)."""
    exists = await conn.fetchval(
        "SELECT to_regclass($1) IS NOT NULL", f"{quote_ident(schema)}.schema_migrations"
    )
    if not exists:
        return [f"{m.source}/{m.name}" for m in migrations]
    rows = await conn.fetch(f"SELECT source, version FROM {quote_ident(schema)}.schema_migrations")
    applied = {(r["source"], r["version"]) for r in rows}
    return [f"{m.source}/{m.name}" for m in migrations if (m.source, m.version) not in applied]
