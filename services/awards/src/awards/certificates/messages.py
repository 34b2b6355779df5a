"""Protobuf conversions of certificates and their verification."""

from __future__ import annotations

from awards.certificates.domain import CertificateFacts, Verification, VerificationStatus, printed_code
from d07.awards.v1 import certificates_pb2 as pb
from d07.platform.convert import EnumMap, date_to_pb, optional_date_to_pb, timestamp

VERIFICATION_STATUS = EnumMap(
    {
        VerificationStatus.VALID: pb.VERIFICATION_STATUS_VALID,
        VerificationStatus.REVOKED: pb.VERIFICATION_STATUS_REVOKED,
        VerificationStatus.UNKNOWN: pb.VERIFICATION_STATUS_UNKNOWN,
    },
    field="status",
)


def certificate_pb(f: CertificateFacts) -> pb.Certificate:
    return pb.Certificate(
        id=str(f.certificate_id), award_id=str(f.award_id), code=printed_code(f.code),
        issued_at=timestamp(f.issued_at), form_code=f.form_code, recipient_kind=f.recipient_kind,
        unit_id=str(f.unit_id), unit_name=f.unit_name, person_name=f.person_name,
        decision_number=f.decision_number, decided_on=date_to_pb(f.decided_on),
    )  # fmt: skip


def verification_pb(v: Verification) -> pb.VerifyCertificateResponse:
    return pb.VerifyCertificateResponse(
        status=VERIFICATION_STATUS.to_pb(v.status), recipient=v.recipient, form=v.form,  # type: ignore[arg-type]
        decision_number=v.decision_number, decided_on=optional_date_to_pb(v.decided_on), issuer=v.issuer,
    )  # fmt: skip
