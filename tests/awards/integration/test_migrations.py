"""The awards migrations apply on a real PostgreSQL, and the `awards` table keeps the contract certificates
read: its columns and the rule that a revoked award carries its reason."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from awards.bootstrap import MIGRATIONS
from d07.platform import db
from tests.conftest import unique


async def test_migrations_create_the_awards_contract(database_url: str) -> None:
    schema = unique("awards")
    conn = await asyncpg.connect(database_url)
    try:
        await db.migrate(conn, schema=schema, migrations=db.all_migrations("awards", MIGRATIONS))
        cols = {
            r["column_name"]
            for r in await conn.fetch(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = $1 AND table_name = 'awards'",
                schema,
            )
        }
        assert {
            "id",
            "nomination_id",
            "round_id",
            "form_code",
            "recipient_kind",
            "unit_id",
            "person_name",
            "decision_number",
            "decided_on",
            "signer",
            "issuer",
            "status",
            "revoked_reason",
        } <= cols
        await conn.execute(f'SET search_path TO "{schema}"')
        round_id, nomination_id, unit_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "INSERT INTO rounds (round_id, title, period_start, period_end, nominations_open,"
            " nominations_close, opened_by)"
            " VALUES ($1, 'Sơ kết', '2014-08-15', '2019-08-29', '2019-06-01', '2019-07-31', 'x')",
            round_id,
        )
        await conn.execute(
            "INSERT INTO nominations (nomination_id, round_id, form_code, recipient_kind, unit_id,"
            " person_key, achievements, proposer)"
            " VALUES ($1, $2, 'merit', 'collective', $3, $4, 'Thành tích', 'x')",
            nomination_id,
            round_id,
            unit_id,
            str(unit_id),
        )
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO awards (id, nomination_id, round_id, form_code, recipient_kind, unit_id,"
                " decision_number, decided_on, signer, issuer, status)"
                " VALUES ($1, $2, $3, 'merit', 'collective', $4, '12/QĐ-UBND', '2019-08-29', 'A', 'B',"
                " 'revoked')",
                uuid.uuid4(),
                nomination_id,
                round_id,
                unit_id,
            )
    finally:
        await conn.close()
