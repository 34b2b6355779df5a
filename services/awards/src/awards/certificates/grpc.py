"""gRPC door of certificates: d07.awards.v1.CertificatesService (every call needs a token, verify too)."""

from __future__ import annotations

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from awards.certificates import service
from awards.certificates.config import CertificateSettings
from awards.certificates.domain import CertificateFacts, printed_code
from awards.certificates.service import CertificateConfig
from d07.awards.v1 import certificates_pb2 as pb
from d07.awards.v1 import certificates_pb2_grpc as pb_grpc
from d07.common.v1 import common_pb2
from d07.platform.grpc import current_principal
from d07.platform.runtime import Deps

SERVICE_NAME = "d07.awards.v1.CertificatesService"
Ctx = grpc.aio.ServicerContext
STATUS_TO_PB = {
    "valid": pb.VERIFICATION_STATUS_VALID,
    "revoked": pb.VERIFICATION_STATUS_REVOKED,
    "unknown": pb.VERIFICATION_STATUS_UNKNOWN,
}


def certificate_to_pb(f: CertificateFacts) -> pb.Certificate:
    issued = Timestamp()
    issued.FromDatetime(f.issued_at)
    return pb.Certificate(
        id=str(f.certificate_id), award_id=str(f.award_id), code=printed_code(f.code), issued_at=issued,
        form_code=f.form_code, recipient_kind=f.recipient_kind, unit_id=str(f.unit_id), unit_name=f.unit_name,
        person_name=f.person_name, decision_number=f.decision_number,
        decided_on=common_pb2.Date(year=f.decided_on.year, month=f.decided_on.month, day=f.decided_on.day),
    )  # fmt: skip


class CertificatesServicer(pb_grpc.CertificatesServiceServicer):
    def __init__(self, deps: Deps, config: CertificateConfig) -> None:
        self.pool = deps.pool
        self.config = config

    async def IssueCertificates(
        self, request: pb.IssueCertificatesRequest, context: Ctx
    ) -> pb.IssueCertificatesResponse:
        issued = await service.issue(
            self.pool, award_ids=list(request.award_ids), decision_number=request.decision_number,
            principal=current_principal(),
        )  # fmt: skip
        return pb.IssueCertificatesResponse(certificates=[certificate_to_pb(f) for f in issued])

    async def GetCertificate(
        self, request: pb.GetCertificateRequest, context: Ctx
    ) -> pb.GetCertificateResponse:
        facts, pdf = await service.get_pdf(
            self.pool, request.id, principal=current_principal(), config=self.config
        )
        return pb.GetCertificateResponse(certificate=certificate_to_pb(facts), pdf=pdf)

    async def GetDecisionCertificates(
        self, request: pb.GetDecisionCertificatesRequest, context: Ctx
    ) -> pb.GetDecisionCertificatesResponse:
        found, pdf = await service.decision_pdf(
            self.pool, request.decision_number, principal=current_principal(), config=self.config
        )
        return pb.GetDecisionCertificatesResponse(certificates=[certificate_to_pb(f) for f in found], pdf=pdf)

    async def VerifyCertificate(
        self, request: pb.VerifyCertificateRequest, context: Ctx
    ) -> pb.VerifyCertificateResponse:
        v = await service.verify(self.pool, request.code)
        on = (
            common_pb2.Date(year=v.decided_on.year, month=v.decided_on.month, day=v.decided_on.day)
            if v.decided_on
            else None
        )
        return pb.VerifyCertificateResponse(
            status=STATUS_TO_PB[v.status], recipient=v.recipient, form=v.form,
            decision_number=v.decision_number, decided_on=on, issuer=v.issuer,
        )  # fmt: skip


def register(server: grpc.aio.Server, deps: Deps) -> None:
    pb_grpc.add_CertificatesServiceServicer_to_server(
        CertificatesServicer(deps, CertificateSettings().config()), server
    )
