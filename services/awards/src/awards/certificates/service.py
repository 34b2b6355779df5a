"""Handlers of certificates: issue them for decided awards, render their PDFs, verify a printed code. One
logic path behind the gRPC and HTTP doors, each `handler(uow, command, principal)`.

Issuing is one transaction that locks the awards, writes the new certificates and their audit rows; an
award that already has its certificate keeps it, so issuing again (or concurrently) is harmless.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from awards.certificates import pdf
from awards.certificates.domain import (
    ISSUERS,
    CertificateFacts,
    IssuableAward,
    Verification,
    canonical_code,
    ensure_issue_request,
    ensure_may_issue,
    new_code,
    verification,
)
from awards.certificates.pdf import CertificateConfig
from awards.certificates.repository import CertificateRepository, CodeCollision
from d07.platform.auth import (
    PROVINCE_WIDE_READERS,
    UNIT_OFFICER,
    Principal,
    ensure_unit_access,
    require_roles,
)
from d07.platform.convert import parse_uuid, parse_uuids
from d07.platform.db import Conn
from d07.platform.errors import Conflict, NotFound
from d07.platform.uow import UnitOfWork

# A fresh code colliding with a stored one (2^-60 per pair) or a concurrent issuer winning the same award:
# the transaction is tried again and sees the other's certificate.
ISSUE_ATTEMPTS = 3


class CertificatesUnitOfWork(UnitOfWork):
    certificates: CertificateRepository

    def bind(self, conn: Conn) -> None:
        self.certificates = CertificateRepository(conn)


@dataclass(frozen=True)
class IssueCertificates:
    """Either award ids or a decision number."""

    award_ids: tuple[str, ...] = ()
    decision_number: str = ""


@dataclass(frozen=True)
class GetCertificate:
    certificate_id: str


@dataclass(frozen=True)
class CertificatePdf:
    certificate_id: str
    config: CertificateConfig


@dataclass(frozen=True)
class DecisionCertificates:
    decision_number: str
    config: CertificateConfig


@dataclass(frozen=True)
class VerifyCode:
    code: str


async def issue(
    uow: CertificatesUnitOfWork, cmd: IssueCertificates, principal: Principal
) -> list[CertificateFacts]:
    """Certificates for the decided awards named (or of the decision): existing ones as they are."""
    require_roles(principal, *ISSUERS)
    ensure_issue_request(list(cmd.award_ids), cmd.decision_number)
    ids = parse_uuids(cmd.award_ids, "award_ids", what="award id")
    for attempt in range(ISSUE_ATTEMPTS):
        try:
            return await _issue_once(uow, ids, cmd.decision_number.strip(), principal)
        except CodeCollision:
            if attempt == ISSUE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def _issuable(
    uow: CertificatesUnitOfWork, ids: list[uuid.UUID], decision_number: str
) -> list[IssuableAward]:
    """The decided awards to issue for: every one named (NotFound, or Conflict when revoked), or the decided
    ones of the decision (NotFound when none)."""
    if ids:
        found = await uow.certificates.awards_by_ids(ids)
        missing = set(ids) - {a.award_id for a in found}
        if missing:
            first = str(min(missing))
            raise NotFound(
                f"no award {first}", code="award_not_found", resource_type="award", resource_id=first
            )
        revoked = [a for a in found if a.status != "decided"]
        if revoked:
            raise Conflict(f"the award {revoked[0].award_id} is revoked", code="award_revoked")
        return found
    found = [a for a in await uow.certificates.awards_of_decision(decision_number) if a.status == "decided"]
    if not found:
        raise NotFound(
            f"no decided award under decision {decision_number}", code="decision_not_found",
            resource_type="decision", resource_id=decision_number,
        )  # fmt: skip
    return found


async def _issue_once(
    uow: CertificatesUnitOfWork, ids: list[uuid.UUID], decision_number: str, principal: Principal
) -> list[CertificateFacts]:
    async with uow:
        awards = await _issuable(uow, ids, decision_number)
        for a in awards:
            ensure_may_issue(principal, a.form_code)
        unnamed = [a for a in awards if not a.unit_name]
        if unnamed:
            raise Conflict(
                f"the unit {unnamed[0].unit_id} is not known here yet: its name cannot be printed",
                code="unit_unknown",
            )
        now = uow.now()
        fresh = {a.award_id: (uuid.uuid4(), new_code()) for a in awards if a.certificate_id is None}
        if fresh:
            new_rows = [(cid, aid, code) for aid, (cid, code) in fresh.items()]
            await uow.certificates.insert_many(new_rows, issued_by=principal.subject, issued_at=now)
            await uow.audit_many(
                action="certificate.issued",
                object_type="certificate",
                entries=[
                    (str(fresh[a.award_id][0]), str(a.unit_id),
                     {"award_id": str(a.award_id), "decision_number": a.decision_number})
                    for a in awards if a.award_id in fresh
                ],
            )  # fmt: skip
    return [a.issued(*fresh[a.award_id], now) if a.award_id in fresh else a.certificate() for a in awards]


async def get(uow: CertificatesUnitOfWork, query: GetCertificate, principal: Principal) -> CertificateFacts:
    """One certificate, for a province-wide reader or an officer of the recipient's unit."""
    cid = parse_uuid(query.certificate_id, "id", what="certificate id")
    async with uow:
        found = await uow.certificates.get(cid)
    if found is None:
        raise NotFound(f"no certificate {cid}", code="certificate_not_found", resource_type="certificate",
                       resource_id=str(cid))  # fmt: skip
    ensure_unit_access(principal, str(found.unit_id))
    return found


async def get_pdf(
    uow: CertificatesUnitOfWork, query: CertificatePdf, principal: Principal
) -> tuple[CertificateFacts, bytes]:
    """One recipient's certificate as a PDF; a revoked award's certificate is no longer handed out."""
    facts = await get(uow, GetCertificate(query.certificate_id), principal)
    if facts.status != "decided":
        raise Conflict("the award of this certificate is revoked", code="award_revoked")
    return facts, await _render([facts], query.config)


async def decision_pdf(
    uow: CertificatesUnitOfWork, query: DecisionCertificates, principal: Principal
) -> tuple[list[CertificateFacts], bytes]:
    """Every standing certificate of a decision as one PDF, one page each (a unit officer: its unit's)."""
    require_roles(principal, *PROVINCE_WIDE_READERS, UNIT_OFFICER)
    async with uow:
        found = await uow.certificates.of_decision(query.decision_number.strip())
    if principal.is_unit_officer_only:
        found = [f for f in found if str(f.unit_id) == principal.unit_id]
    if not found:
        raise NotFound(
            f"no certificate under decision {query.decision_number}", code="decision_not_found",
            resource_type="decision", resource_id=query.decision_number,
        )  # fmt: skip
    return found, await _render(found, query.config)


async def _render(found: list[CertificateFacts], config: CertificateConfig) -> bytes:
    # fpdf2 is pure Python: a decision of a few dozen pages takes long enough to stall the event loop.
    return await asyncio.to_thread(pdf.render, found, place=config.place, font_dir=config.font_dir)


async def verify(uow: CertificatesUnitOfWork, query: VerifyCode, principal: Principal | None) -> Verification:
    """What a code stands for, for anyone (the public route has no principal). A malformed code is simply
    unknown: it never reaches the database."""
    code = canonical_code(query.code)
    if code is None:
        return verification(None)
    async with uow:
        return verification(await uow.certificates.by_code(code))
