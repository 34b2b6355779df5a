"""Opening a round for 5.000 units and finalising 5.000 assessments, beside asyncpg's raw batch insert rate.

Everything runs in one schema of the bench database with the assessment service's migrations, through the
service's own handlers (`assessment.rounds.service`, the code behind gRPC and HTTP), each call with a unit of
work of its own over an asyncpg pool, as the doors make them:

1. raw executemany / raw COPY: 5.000 rows shaped like an assessment, in one transaction (the ceiling);
2. OpenRound: one call, one transaction: 5.000 assessments by one INSERT ... SELECT, 5.000 outbox events
   (AssessmentRoundOpened, keyed by unit id) and the audit row;
3. FinaliseAssessment x 5.000: each its own transaction (lock, criteria set, verdicts, derived criteria
   snapshot, result, revision row, audit row, AssessmentFinalised event), 8 calls in flight on 8 connections.

The units are put straight into the read copy, and the assessments brought to SUBMITTED with every verdict
recorded by SQL beforehand (not timed): what is measured is the round and the finalisation only.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from pathlib import Path

import asyncpg

from assessment.rounds import service
from assessment.rounds.domain import FinaliseAssessment, OpenRound
from assessment.rounds.service import RoundsUnitOfWork
from bench.common import Clock, Result, print_table, stack, unique
from d07.platform import db
from d07.platform.auth import ADMIN, POLICE, Principal

UNITS = 5_000
IN_FLIGHT = 8
YEAR = 2024
MIGRATIONS = Path(__file__).resolve().parent.parent / "services" / "assessment" / "migrations"
KINDS = ("agency", "enterprise", "school")
SOURCE = "/d07/assessment"


def uow(pool: asyncpg.Pool) -> RoundsUnitOfWork:
    """A unit of work for one handler call (`deps.uow(RoundsUnitOfWork)` in the service)."""
    return RoundsUnitOfWork(pool, source=SOURCE)


async def raw_inserts(pool: asyncpg.Pool) -> tuple[Result, Result]:
    """asyncpg alone: 5.000 assessment-shaped rows by executemany, then by COPY, each in one transaction."""
    await pool.execute(
        """CREATE TABLE raw_rows (id uuid PRIMARY KEY, round_id uuid, unit_id uuid, year int, unit_kind text,
                                  district_code text, set_code text, set_version int, status text)"""
    )
    round_id = uuid.uuid4()

    def rows() -> list[tuple[object, ...]]:
        return [
            (
                uuid.uuid4(),
                round_id,
                uuid.uuid4(),
                YEAR,
                KINDS[i % 3],
                f"{i % 8 + 1:03d}",
                "TT124-2021",
                1,
                "draft",
            )
            for i in range(UNITS)
        ]

    batch = rows()
    async with pool.acquire() as conn:
        with Clock() as many:
            async with conn.transaction():
                await conn.executemany(
                    "INSERT INTO raw_rows VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", batch
                )
        batch = rows()
        with Clock() as copy:
            async with conn.transaction():
                await conn.copy_records_to_table("raw_rows", records=batch)
    return (
        Result("raw executemany (rows)", UNITS, many.seconds),
        Result("raw COPY (rows)", UNITS, copy.seconds),
    )


async def seed_units(pool: asyncpg.Pool) -> None:
    records = [
        (uuid.uuid4(), f"BENCH-{i:05d}", f"Đơn vị {i}", KINDS[i % 3], f"{i % 8 + 1:03d}", 1, "active", True)
        for i in range(UNITS)
    ]
    async with pool.acquire() as conn:
        await conn.copy_records_to_table(
            "units",
            records=records,
            columns=["unit_id", "code", "name", "kind", "district_code", "version", "status", "in_scope"],
        )


async def bring_to_verified(pool: asyncpg.Pool, round_id: uuid.UUID) -> list[uuid.UUID]:
    """Every assessment of the round submitted by its officer and verified criterion by criterion (by SQL)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO assessment_answers
                      (assessment_id, criterion_code, self_met, verified_met, verified_by, verified_at)
               SELECT a.assessment_id, c.code, true, c.code <> 'TC2' OR a.unit_kind <> 'school',
                      'bench-police', now()
                 FROM assessments a
                 JOIN criteria c ON (c.set_code, c.set_version) = (a.set_code, a.set_version)
                WHERE a.round_id = $1""",
            round_id,
        )
        ids: list[uuid.UUID] = [
            r["assessment_id"]
            for r in await conn.fetch(
                """UPDATE assessments SET status = 'submitted', submitted_by = 'bench-officer',
                          submitted_at = now(), verified_at = now()
                    WHERE round_id = $1 RETURNING assessment_id""",
                round_id,
            )
        ]
    return ids


async def finalise_all(pool: asyncpg.Pool, ids: list[uuid.UUID]) -> float:
    police = Principal(subject="bench-police", roles=frozenset({POLICE}))
    queue: asyncio.Queue[uuid.UUID] = asyncio.Queue()
    for assessment_id in ids:
        queue.put_nowait(assessment_id)

    async def worker() -> None:
        while not queue.empty():
            await service.finalise(uow(pool), FinaliseAssessment(str(queue.get_nowait())), police)

    with Clock() as clock:
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return clock.seconds


async def main() -> None:
    async with stack() as s:
        schema = unique("bench_assessment")
        conn = await asyncpg.connect(s.database_url)
        try:
            await db.migrate(conn, schema=schema, migrations=db.all_migrations("assessment", MIGRATIONS))
        finally:
            await conn.close()
        s.schemas.append(schema)
        pool = await db.create_pool(s.database_url, schema=schema, min_size=IN_FLIGHT, max_size=IN_FLIGHT)
        try:
            raw_many, raw_copy = await raw_inserts(pool)
            await seed_units(pool)
            admin = Principal(subject="bench-admin", roles=frozenset({ADMIN}))
            cmd = OpenRound(YEAR, date(YEAR, 10, 31), date(YEAR, 11, 30))
            with Clock() as opening:
                round_ = await service.open_round(uow(pool), cmd, admin)
            assert round_.unit_count == UNITS, round_.unit_count
            events = await pool.fetchval("SELECT count(*) FROM outbox")
            ids = await bring_to_verified(pool, round_.id)
            finalising = await finalise_all(pool, ids)
            counts = await pool.fetchrow(
                """SELECT count(*) FILTER (WHERE result = 'passed') AS passed,
                          count(*) FILTER (WHERE status = 'finalised') AS finalised
                     FROM assessments WHERE round_id = $1""",
                round_.id,
            )
            assert counts is not None
            passed, finalised = counts["passed"], counts["finalised"]
            assert finalised == UNITS, finalised
        finally:
            await pool.close()
    print_table(
        f"assessment: a round for {UNITS} units ({events} events in the outbox), then {finalised} finalised "
        f"({passed} passed), {IN_FLIGHT} in flight",
        [
            raw_many,
            raw_copy,
            Result("OpenRound, one call (assessments)", UNITS, opening.seconds, baseline=raw_many.name),
            Result("FinaliseAssessment x N (assessments)", UNITS, finalising, baseline=raw_many.name),
        ],
    )


if __name__ == "__main__":
    asyncio.run(main())
