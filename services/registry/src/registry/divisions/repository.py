"""SQL of divisions."""

from __future__ import annotations

from d07.platform.db import Conn
from registry.divisions.domain import Commune, District, Divisions


class DivisionRepository:
    """Districts and communes."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def lock_loading(self) -> None:
        """Until the transaction ends: one replica loads, the others wait, then find the version loaded."""
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext('d07-registry-divisions'))")

    async def load(self, divisions: Divisions) -> bool:
        """Upsert the file's divisions unless this version is loaded already. True when it loaded now.

        Divisions missing from a newer file are kept (units may still refer to them)."""
        if await self.conn.fetchval("SELECT 1 FROM division_data WHERE version = $1", divisions.version):
            return False
        await self.conn.executemany(
            """INSERT INTO districts (code, name, kind, data_version) VALUES ($1, $2, $3, $4)
               ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,
                   data_version = EXCLUDED.data_version""",
            [(d.code, d.name, d.kind, divisions.version) for d in divisions.districts],
        )
        await self.conn.executemany(
            """INSERT INTO communes (code, district_code, name, kind, data_version)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (code) DO UPDATE SET district_code = EXCLUDED.district_code, name = EXCLUDED.name,
                   kind = EXCLUDED.kind, data_version = EXCLUDED.data_version""",
            [
                (c.code, c.district_code, c.name, c.kind, divisions.version)
                for d in divisions.districts
                for c in d.communes
            ],
        )
        await self.conn.execute(
            "INSERT INTO division_data (version, province) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            divisions.version,
            divisions.province_name,
        )
        return True

    async def all_districts(self) -> list[District]:
        districts = await self.conn.fetch("SELECT code, name, kind FROM districts ORDER BY code")
        communes = await self.conn.fetch("SELECT code, district_code, name, kind FROM communes ORDER BY code")
        by_district: dict[str, list[Commune]] = {}
        for c in communes:
            by_district.setdefault(c["district_code"], []).append(
                Commune(c["code"], c["name"], c["kind"], c["district_code"])
            )
        return [
            District(d["code"], d["name"], d["kind"], tuple(by_district.get(d["code"], [])))
            for d in districts
        ]

    async def index(self) -> tuple[frozenset[str], dict[str, str]]:
        """(district codes, commune code -> district code) for validating places."""
        districts = frozenset(r["code"] for r in await self.conn.fetch("SELECT code FROM districts"))
        communes = {
            r["code"]: r["district_code"]
            for r in await self.conn.fetch("SELECT code, district_code FROM communes")
        }
        return districts, communes
