"""Handler tests of certificates with fakes: who may issue, the audit rows issuing writes (and that issuing
again or a refused issue writes nothing), and what a printed code verifies as."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from awards.certificates import service
from awards.certificates.domain import CertificateFacts, VerificationStatus, printed_code
from awards.certificates.service import IssueCertificates, VerifyCode
from d07.platform.auth import ADMIN, CHAIRMAN_OFFICE, POLICE, UNIT_OFFICER, Principal
from d07.platform.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from tests.awards.service.fakes import FakeCertificatesUnitOfWork
from tests.support.principals import acting, caller, every_role


async def issue(
    uow: FakeCertificatesUnitOfWork, cmd: IssueCertificates, principal: Principal
) -> list[CertificateFacts]:
    with acting(principal):
        return await service.issue(uow, cmd, principal)


def as_role(role: str) -> Principal:
    return caller(role, unit_id=uuid.uuid4() if role == UNIT_OFFICER else None)


def assert_nothing_written(uow: FakeCertificatesUnitOfWork) -> None:
    assert uow.audits == []
    assert uow.events == []
    assert uow.commits == 0


@pytest.mark.parametrize("role", every_role())
async def test_admin_and_the_forms_issuer_issue(role: str) -> None:
    uow = FakeCertificatesUnitOfWork()
    award = uow.award(form="merit")
    cmd = IssueCertificates(award_ids=(str(award.award_id),))
    if role in (ADMIN, CHAIRMAN_OFFICE):
        [cert] = await issue(uow, cmd, as_role(role))
        assert cert.award_id == award.award_id
        return
    with pytest.raises(PermissionDenied) as refused:
        await issue(uow, cmd, as_role(role))
    # the police issue certificates, but not those of a Bằng khen
    assert refused.value.code == ("not_the_issuer" if role == POLICE else "role_required")
    assert_nothing_written(uow)
    assert uow.certificates.awards[award.award_id].certificate_id is None  # type: ignore[attr-defined]


async def test_issuing_audits_each_new_certificate_and_publishes_nothing() -> None:
    uow = FakeCertificatesUnitOfWork()
    awards = [uow.award(decision="7/QĐ-UBND"), uow.award(decision="7/QĐ-UBND", unit_name="Công ty Xi măng")]
    issued = await issue(uow, IssueCertificates(decision_number=" 7/QĐ-UBND "), as_role(CHAIRMAN_OFFICE))
    assert {c.award_id for c in issued} == {a.award_id for a in awards}
    assert uow.actions() == ["certificate.issued", "certificate.issued"]
    by_id = {c.certificate_id: c for c in issued}
    for row in uow.audits:
        assert row.object_type == "certificate"
        cert = by_id[uuid.UUID(row.object_id)]
        assert row.unit_id == str(cert.unit_id)
        assert row.details == {"award_id": str(cert.award_id), "decision_number": "7/QĐ-UBND"}
    assert uow.events == []
    assert all(c.issued_at == uow.now() for c in issued)


async def test_issuing_again_keeps_the_certificates_and_writes_no_audit_row() -> None:
    uow = FakeCertificatesUnitOfWork()
    award = uow.award()
    cmd = IssueCertificates(award_ids=(str(award.award_id),))
    [first] = await issue(uow, cmd, as_role(ADMIN))
    [again] = await issue(uow, cmd, as_role(ADMIN))
    assert (again.certificate_id, again.code) == (first.certificate_id, first.code)
    assert uow.actions() == ["certificate.issued"]


async def test_refused_issues_write_nothing() -> None:
    uow = FakeCertificatesUnitOfWork()
    revoked = uow.award(status="revoked")
    unnamed = uow.award(unit_name="")
    cases = [
        (IssueCertificates(award_ids=(str(revoked.award_id),)), Conflict, "award_revoked"),
        (IssueCertificates(award_ids=(str(unnamed.award_id),)), Conflict, "unit_unknown"),
        (IssueCertificates(award_ids=(str(uuid.uuid4()),)), NotFound, "award_not_found"),
        (IssueCertificates(decision_number="no-such"), NotFound, "decision_not_found"),
        (IssueCertificates(award_ids=("x",), decision_number="1"), InvalidArgument, "award_ids_or_decision"),
        (IssueCertificates(award_ids=("x",)), InvalidArgument, "invalid_id"),
    ]
    for cmd, kind, code in cases:
        with pytest.raises(kind) as refused:
            await issue(uow, cmd, as_role(ADMIN))
        assert refused.value.code == code
    assert_nothing_written(uow)


async def test_a_printed_code_verifies_as_valid_revoked_or_unknown() -> None:
    uow = FakeCertificatesUnitOfWork()
    award = uow.award()
    [cert] = await issue(uow, IssueCertificates(award_ids=(str(award.award_id),)), as_role(ADMIN))
    typed = printed_code(cert.code).lower()
    valid = await service.verify(uow, VerifyCode(typed), None)
    assert valid.status is VerificationStatus.VALID
    assert (valid.recipient, valid.form, valid.decision_number) == (
        award.unit_name,
        "Bằng khen",
        "1234/QĐ-UBND",
    )
    store = uow.certificates.awards  # type: ignore[attr-defined]
    store[award.award_id] = replace(store[award.award_id], status="revoked")
    assert (await service.verify(uow, VerifyCode(typed), None)).status is VerificationStatus.REVOKED
    assert (
        await service.verify(uow, VerifyCode("ABCD-EFGH-JKLM"), None)
    ).status is VerificationStatus.UNKNOWN
    assert (await service.verify(uow, VerifyCode("not a code"), None)).status is VerificationStatus.UNKNOWN
