"""Handlers of certificates: issue them for decided awards, render their PDFs, verify a printed code.
One logic path behind the gRPC and HTTP doors.

Issuing is one transaction that locks the awards, writes the new certificates and their audit rows; an
award that already has its certificate keeps it, so issuing again (or concurrently) is harmless.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg

from awards.certificates import pdf
from awards.certificates import repository as repo
from awards.certificates.domain import (
    AUTHORITY,
    FORM_NAME,
    CertificateFacts,
    canonical_code,
    ensure_issue_request,
    ensure_may_issue,
    new_code,
)
from d07.platform import audit
from d07.platform.auth import (
    PROVINCE_WIDE_READERS,
    UNIT_OFFICER,
    Principal,
    ensure_unit_access,
    require_roles,
)
from d07.platform.errors import Conflict, FieldProblem, InvalidArgument, NotFound

# A fresh code colliding with a stored one (2^-60 per pair) or a concurrent issuer winning the same award:
# the transaction is tried again and sees the other's certificate.
ISSUE_ATTEMPTS = 3


@dataclass(frozen=True)
class CertificateConfig:
    """What rendering needs: the place printed on the date line and where the fonts are."""

    place: str = "Sơn Lâm"
    font_dir: Path = pdf.DEFAULT_FONT_DIR


@dataclass(frozen=True)
class Verification:
    """The answer to a printed code: only the certificate's public facts."""

    status: str  # valid | revoked | unknown
    recipient: str = ""
    form: str = ""
    decision_number: str = ""
    decided_on: date | None = None
    issuer: str = ""


def _parse_ids(values: list[str]) -> list[uuid.UUID]:
    ids = []
    for n, v in enumerate(values):
        try:
            ids.append(uuid.UUID(v))
        except (ValueError, AttributeError, TypeError):
            problem = FieldProblem(f"award_ids[{n}]", "a UUID is expected")
            raise InvalidArgument("not an award id", code="invalid_id", fields=[problem]) from None
    return ids


async def issue(
    pool: asyncpg.Pool, *, award_ids: list[str], decision_number: str, principal: Principal
) -> list[CertificateFacts]:
    """Certificates for the decided awards named (or of the decision): existing ones as they are."""
    ensure_issue_request(award_ids, decision_number)
    ids = _parse_ids(award_ids)
    for attempt in range(ISSUE_ATTEMPTS):
        try:
            return await _issue_once(pool, ids, decision_number.strip(), principal)
        except asyncpg.UniqueViolationError:
            if attempt == ISSUE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def _issue_once(
    pool: asyncpg.Pool, ids: list[uuid.UUID], decision_number: str, principal: Principal
) -> list[CertificateFacts]:
    async with pool.acquire() as conn, conn.transaction():
        if ids:
            rows = await repo.awards_by_ids(conn, ids)
            missing = set(ids) - {r["award_id"] for r in rows}
            if missing:
                first = str(min(missing))
                raise NotFound(
                    f"no award {first}", code="award_not_found", resource_type="award", resource_id=first
                )
            revoked = [r for r in rows if r["status"] != "decided"]
            if revoked:
                raise Conflict(f"the award {revoked[0]['award_id']} is revoked", code="award_revoked")
        else:
            found = await repo.awards_of_decision(conn, decision_number)
            rows = [r for r in found if r["status"] == "decided"]
            if not rows:
                raise NotFound(
                    f"no decided award under decision {decision_number}", code="decision_not_found",
                    resource_type="decision", resource_id=decision_number,
                )  # fmt: skip
        for r in rows:
            ensure_may_issue(principal, r["form_code"])
        unnamed = [r for r in rows if not r["unit_name"]]
        if unnamed:
            raise Conflict(
                f"the unit {unnamed[0]['unit_id']} is not known here yet: its name cannot be printed",
                code="unit_unknown",
            )
        now = datetime.now(UTC)
        fresh = {r["award_id"]: (uuid.uuid4(), new_code()) for r in rows if r["certificate_id"] is None}
        if fresh:
            new_rows = [(cid, aid, code) for aid, (cid, code) in fresh.items()]
            await repo.insert_many(conn, new_rows, issued_by=principal.subject, issued_at=now)
            await audit.record_many(
                conn,
                action="certificate.issued",
                object_type="certificate",
                entries=[
                    (str(fresh[r["award_id"]][0]), str(r["unit_id"]),
                     {"award_id": str(r["award_id"]), "decision_number": r["decision_number"]})
                    for r in rows if r["award_id"] in fresh
                ],
            )  # fmt: skip
    out = []
    for r in rows:
        facts = repo.facts(r)
        if r["award_id"] in fresh:
            cid, code = fresh[r["award_id"]]
            facts = replace(facts, certificate_id=cid, code=code, issued_at=now)
        out.append(facts)
    return out


def _parse_certificate_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise InvalidArgument(
            "not a certificate id", code="invalid_id", fields=[FieldProblem("id", "a UUID is expected")]
        ) from None


async def get(pool: asyncpg.Pool, certificate_id: str, *, principal: Principal) -> CertificateFacts:
    """One certificate, for a province-wide reader or an officer of the recipient's unit."""
    cid = _parse_certificate_id(certificate_id)
    async with pool.acquire() as conn:
        found = await repo.get(conn, cid)
    if found is None:
        raise NotFound(f"no certificate {cid}", code="certificate_not_found", resource_type="certificate",
                       resource_id=str(cid))  # fmt: skip
    ensure_unit_access(principal, str(found.unit_id))
    return found


async def get_pdf(
    pool: asyncpg.Pool, certificate_id: str, *, principal: Principal, config: CertificateConfig
) -> tuple[CertificateFacts, bytes]:
    """One recipient's certificate as a PDF; a revoked award's certificate is no longer handed out."""
    facts = await get(pool, certificate_id, principal=principal)
    if facts.status != "decided":
        raise Conflict("the award of this certificate is revoked", code="award_revoked")
    return facts, await _render([facts], config)


async def decision_pdf(
    pool: asyncpg.Pool, decision_number: str, *, principal: Principal, config: CertificateConfig
) -> tuple[list[CertificateFacts], bytes]:
    """Every standing certificate of a decision as one PDF, one page each (a unit officer: its unit's)."""
    require_roles(principal, *PROVINCE_WIDE_READERS, UNIT_OFFICER)
    async with pool.acquire() as conn:
        found = await repo.of_decision(conn, decision_number.strip())
    if principal.is_unit_officer_only:
        found = [f for f in found if str(f.unit_id) == principal.unit_id]
    if not found:
        raise NotFound(
            f"no certificate under decision {decision_number}", code="decision_not_found",
            resource_type="decision", resource_id=decision_number,
        )  # fmt: skip
    return found, await _render(found, config)


async def _render(found: list[CertificateFacts], config: CertificateConfig) -> bytes:
    # fpdf2 is pure Python: a decision of a few dozen pages takes long enough to stall the event loop.
    return await asyncio.to_thread(pdf.render, found, place=config.place, font_dir=config.font_dir)


async def verify(pool: asyncpg.Pool, typed_code: str) -> Verification:
    """What a code stands for. A malformed code is simply unknown: it never reaches the database."""
    code = canonical_code(typed_code)
    if code is None:
        return Verification("unknown")
    async with pool.acquire() as conn:
        found = await repo.by_code(conn, code)
    if found is None:
        return Verification("unknown")
    return Verification(
        status="valid" if found.status == "decided" else "revoked",
        recipient=found.recipient,
        form=FORM_NAME.get(found.form_code, found.form_code),
        decision_number=found.decision_number,
        decided_on=found.decided_on,
        issuer=found.issuer or AUTHORITY.get(found.form_code, ""),
    )
