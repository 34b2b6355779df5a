"""Certificates against the real PostgreSQL, through the HTTP door in-process (the public verification
without a token, the rest with one): issuing for decided awards, PDFs whose text keeps its diacritics, the
decision's PDF of one page per certificate, and verification (valid, revoked, unknown).

The decided awards are written straight into the `awards` table (the contract with the nominations
workflow), with the nomination, round and unit name they refer to.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import asyncpg
import httpx
import pypdf
import pytest
from fastapi import FastAPI

from awards.bootstrap import MIGRATIONS
from awards.certificates.http import public_router, router
from awards.config import AwardsDeps, AwardsSettings
from d07.platform import db
from d07.platform.auth import (
    ADMIN,
    AUDITOR,
    CHAIRMAN_OFFICE,
    POLICE,
    UNIT_OFFICER,
    TokenVerifier,
    ensure_dev_keys,
    issue_token,
)
from d07.platform.http import create_app
from d07.platform.readiness import Readiness
from tests.conftest import unique
from tests.support.services import Platform

SCHOOL = "Trường THPT Nguyễn Trãi"
COMPANY = "Công ty Cổ phần Xi măng Sơn Lâm"


class World:
    def __init__(self, deps: AwardsDeps, client: httpx.AsyncClient, pem: bytes, round_id: uuid.UUID) -> None:
        self.deps = deps
        self.pool = deps.pool
        self.client = client
        self.pem = pem
        self.round_id = round_id

    def headers(self, role: str, unit_id: uuid.UUID | None = None) -> dict[str, str]:
        token = issue_token(
            self.pem, roles=[role], subject=unique("user"), unit_id=str(unit_id) if unit_id else None
        )
        return {"Authorization": f"Bearer {token}"}

    async def unit(self, name: str) -> uuid.UUID:
        unit_id = uuid.uuid4()
        await self.pool.execute("INSERT INTO rm_units (unit_id, name) VALUES ($1, $2)", unit_id, name)
        return unit_id

    async def award(
        self, unit_id: uuid.UUID, decision: str, *, form: str = "merit", person: str | None = None,
        achievement: str = "xuất sắc",
    ) -> uuid.UUID:  # fmt: skip
        kind = "individual" if person else "collective"
        nomination_id, award_id = uuid.uuid4(), uuid.uuid4()
        issuer = "Chủ tịch Ủy ban nhân dân tỉnh" if form == "merit" else "Giám đốc Công an tỉnh"
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO nominations (nomination_id, round_id, form_code, recipient_kind, unit_id,"
                " person_name, person_key, achievements, proposer, status)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'x', 'decided')",
                nomination_id, self.round_id, form, kind, unit_id, person, unique("key"), achievement,
            )  # fmt: skip
            await conn.execute(
                "INSERT INTO awards (id, nomination_id, round_id, form_code, recipient_kind, unit_id,"
                " person_name, decision_number, decided_on, signer, issuer)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '2019-08-29', 'Nguyễn Văn Bình', $9)",
                award_id, nomination_id, self.round_id, form, kind, unit_id, person, decision, issuer,
            )  # fmt: skip
        return award_id

    async def issue(self, role: str, unit_id: uuid.UUID | None = None, **body: object) -> httpx.Response:
        return await self.client.post("/v1/certificates", json=body, headers=self.headers(role, unit_id))


@pytest.fixture(scope="module")
async def world(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    schema = unique("awards_cert")
    conn = await asyncpg.connect(database_url)
    try:
        await db.migrate(conn, schema=schema, migrations=db.all_migrations("awards", MIGRATIONS))
    finally:
        await conn.close()
    pool = await db.create_pool(database_url, schema=schema)
    key, jwks = ensure_dev_keys(Path(tmp_path_factory.mktemp("cert-keys")))
    verifier = TokenVerifier(issuer="d07-dev", audience="d07", jwks_file=str(jwks))
    settings = AwardsSettings(certificate_place="Sơn Lâm", certificate_verify_per_minute=1000)
    deps = AwardsDeps(settings=settings, pool=pool, verifier=verifier)

    async def fine() -> None:
        return None

    app: FastAPI = create_app(
        title="awards", service="awards", verifier=verifier, readiness=Readiness({"always": fine}),
        routers=[router(deps)],
        public_routers=[public_router(deps)],
    )  # fmt: skip
    round_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO rounds (round_id, title, period_start, period_end, nominations_open,"
        " nominations_close, opened_by)"
        " VALUES ($1, 'Sơ kết 5 năm', '2014-08-15', '2019-08-29', '2019-06-01', '2019-07-31', 'x')",
        round_id,
    )
    transport = httpx.ASGITransport(app=app, client=("10.9.8.7", 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://awards.test") as client:
            yield World(deps, client, key.read_bytes(), round_id)
    finally:
        await pool.close()


def pdf_pages(content: bytes) -> list[str]:
    return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(content)).pages]


async def test_a_certificate_pdf_keeps_its_diacritics_and_its_code_verifies(world: World) -> None:
    decision = unique("1234/QĐ-UBND")
    school = await world.unit(SCHOOL)
    award_id = await world.award(school, decision)
    r = await world.issue(CHAIRMAN_OFFICE, award_ids=[str(award_id)])
    assert r.status_code == 201, r.text
    [cert] = r.json()
    assert cert["unit_name"] == SCHOOL
    assert len(cert["code"].replace("-", "")) == 12

    # Issuing again keeps the same certificate and code.
    again = await world.issue(ADMIN, decision_number=decision)
    assert [(c["id"], c["code"]) for c in again.json()] == [(cert["id"], cert["code"])]

    pdf = await world.client.get(f"/v1/certificates/{cert['id']}/pdf", headers=world.headers(AUDITOR))
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    [page] = pdf_pages(pdf.content)
    expected = [
        "TẶNG BẰNG KHEN", SCHOOL, "Chỉ thị số 07/CT-BCA-V28", "29-08-2019",
        "Sơn Lâm, ngày 29 tháng 8 năm 2019", cert["code"], "CHỦ TỊCH ỦY BAN NHÂN DÂN TỈNH",
    ]  # fmt: skip
    for text in expected:
        assert text in page

    verified = await world.client.get(f"/v1/certificates/verify/{cert['code'].lower()}")  # no token
    assert verified.status_code == 200
    assert verified.json() == {
        "status": "valid", "recipient": SCHOOL, "form": "Bằng khen", "decision_number": decision,
        "decided_on": "2019-08-29", "issuer": "Chủ tịch Ủy ban nhân dân tỉnh",
    }  # fmt: skip


async def test_an_unknown_or_malformed_code_is_unknown_and_says_nothing_more(world: World) -> None:
    for code in ("ABCD-EFGH-JKLM", "not-a-code", "0000-0000-0000"):
        r = await world.client.get(f"/v1/certificates/verify/{code}")
        assert r.status_code == 200
        assert r.json() == {
            "status": "unknown", "recipient": "", "form": "", "decision_number": "", "decided_on": None,
            "issuer": "",
        }  # fmt: skip


async def test_a_revoked_awards_certificate_verifies_as_revoked(world: World) -> None:
    decision = unique("567/QĐ-CAT")
    company = await world.unit(COMPANY)
    award_id = await world.award(company, decision, form="commendation", person="Trần Thị Hồng Nhung")
    [cert] = (await world.issue(POLICE, award_ids=[str(award_id)])).json()
    await world.pool.execute(
        "UPDATE awards SET status = 'revoked', revoked_reason = 'hồ sơ sai sự thật' WHERE id = $1", award_id
    )
    body = (await world.client.get(f"/v1/certificates/verify/{cert['code']}")).json()
    assert body["status"] == "revoked"
    assert body["recipient"] == f"Trần Thị Hồng Nhung, {COMPANY}"
    assert "hồ sơ" not in str(body)  # the reason of the revocation is not public
    r = await world.client.get(f"/v1/certificates/{cert['id']}/pdf", headers=world.headers(ADMIN))
    assert r.status_code == 409
    assert r.json()["code"] == "award_revoked"
    refused = await world.issue(POLICE, award_ids=[str(award_id)])
    assert refused.status_code == 409


async def test_the_decision_pdf_has_one_page_per_standing_certificate(world: World) -> None:
    decision = unique("890/QĐ-UBND")
    units = [await world.unit(f"{SCHOOL} {n}") for n in range(3)]
    awards = [await world.award(u, decision) for u in units]
    awards.append(await world.award(units[0], decision, person="Lê Văn Tám"))
    issued = (await world.issue(CHAIRMAN_OFFICE, decision_number=decision)).json()
    assert sorted(c["award_id"] for c in issued) == sorted(map(str, awards))
    assert len({c["code"] for c in issued}) == 4

    r = await world.client.get(
        "/v1/certificates/decision.pdf", params={"decision_number": decision}, headers=world.headers(AUDITOR)
    )
    assert r.status_code == 200
    pages = pdf_pages(r.content)
    assert len(pages) == 4
    assert all(f"Quyết định số {decision} ngày 29-08-2019" in p for p in pages)
    assert sorted(c["code"] for c in issued) == sorted(
        next(c["code"] for c in issued if c["code"] in p) for p in pages
    )

    # A revoked award leaves the decision's PDF; a unit officer sees only its own unit's pages.
    await world.pool.execute(
        "UPDATE awards SET status = 'revoked', revoked_reason = 'thu hồi' WHERE id = $1", awards[1]
    )
    r = await world.client.get(
        "/v1/certificates/decision.pdf", params={"decision_number": decision}, headers=world.headers(ADMIN)
    )
    assert len(pdf_pages(r.content)) == 3
    mine = await world.client.get(
        "/v1/certificates/decision.pdf", params={"decision_number": decision},
        headers=world.headers(UNIT_OFFICER, units[0]),
    )  # fmt: skip
    assert len(pdf_pages(mine.content)) == 2  # the school and its person


async def test_who_may_issue_and_read(world: World) -> None:
    decision = unique("12/QĐ-UBND")
    school, other = await world.unit(SCHOOL), await world.unit(COMPANY)
    award_id = await world.award(school, decision)
    for role in (POLICE, AUDITOR, UNIT_OFFICER):
        r = await world.issue(role, school if role == UNIT_OFFICER else None, award_ids=[str(award_id)])
        assert r.status_code == 403, role
    assert (
        await world.client.post("/v1/certificates", json={"decision_number": decision})
    ).status_code == 401
    [cert] = (await world.issue(CHAIRMAN_OFFICE, award_ids=[str(award_id)])).json()
    own = await world.client.get(
        f"/v1/certificates/{cert['id']}", headers=world.headers(UNIT_OFFICER, school)
    )
    assert own.status_code == 200
    foreign = await world.client.get(
        f"/v1/certificates/{cert['id']}/pdf", headers=world.headers(UNIT_OFFICER, other)
    )
    assert foreign.status_code == 403
    assert (await world.client.get(f"/v1/certificates/{cert['id']}/pdf")).status_code == 401


async def test_an_award_of_a_unit_not_known_here_is_not_issued(world: World) -> None:
    award_id = await world.award(uuid.uuid4(), unique("99/QĐ-UBND"))
    r = await world.issue(ADMIN, award_ids=[str(award_id)])
    assert r.status_code == 409
    assert r.json()["code"] == "unit_unknown"
    assert (await world.issue(ADMIN, award_ids=[str(uuid.uuid4())])).status_code == 404
    assert (await world.issue(ADMIN, award_ids=["x"], decision_number="1")).status_code == 400


async def test_the_public_verification_limits_each_address(world: World) -> None:
    limited = create_app(
        title="awards", service="awards", verifier=world.deps.verifier, readiness=Readiness(), routers=[],
        public_routers=[
            public_router(replace(world.deps, settings=AwardsSettings(certificate_verify_per_minute=2)))
        ],
    )  # fmt: skip
    transport = httpx.ASGITransport(app=limited, client=("10.9.8.6", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://awards.test") as c:
        answers = [await c.get("/v1/certificates/verify/ABCD-EFGH-JKLM") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].headers["retry-after"] == "60"


def test_the_public_verification_route_is_served_without_a_token(platform: Platform) -> None:
    """The running awards service serves the verification route to anyone: an unknown code answers `unknown`
    (no token needed, nothing else disclosed), while the authenticated routes still refuse a missing token."""
    r = httpx.get(f"{platform['awards'].url}/v1/certificates/verify/ABCD-EFGH-JKLM")
    assert r.status_code == 200
    assert r.json()["status"] == "unknown"
    assert httpx.get(f"{platform['awards'].url}/v1/certificates/{uuid.uuid4()}").status_code == 401
