"""gRPC door of certificates: d07.awards.v1.CertificatesService (every call needs a token, verify too)."""

from __future__ import annotations

import grpc

from awards.certificates import messages as m
from awards.certificates import service
from awards.certificates.pdf import CertificateConfig
from awards.certificates.service import CertificatesUnitOfWork
from awards.config import AwardsDeps
from d07.awards.v1 import certificates_pb2 as pb
from d07.awards.v1 import certificates_pb2_grpc as pb_grpc
from d07.platform.grpc import current_principal

SERVICE_NAME = "d07.awards.v1.CertificatesService"
Ctx = grpc.aio.ServicerContext


class CertificatesServicer(pb_grpc.CertificatesServiceServicer):
    def __init__(self, deps: AwardsDeps) -> None:
        self.deps = deps
        s = deps.settings
        self.config = CertificateConfig(place=s.certificate_place, font_dir=s.certificate_font_dir)

    def _uow(self) -> CertificatesUnitOfWork:
        return self.deps.uow(CertificatesUnitOfWork)

    async def IssueCertificates(
        self, request: pb.IssueCertificatesRequest, context: Ctx
    ) -> pb.IssueCertificatesResponse:
        cmd = service.IssueCertificates(tuple(request.award_ids), request.decision_number)
        issued = await service.issue(self._uow(), cmd, current_principal())
        return pb.IssueCertificatesResponse(certificates=[m.certificate_pb(f) for f in issued])

    async def GetCertificate(
        self, request: pb.GetCertificateRequest, context: Ctx
    ) -> pb.GetCertificateResponse:
        query = service.CertificatePdf(request.id, self.config)
        facts, pdf = await service.get_pdf(self._uow(), query, current_principal())
        return pb.GetCertificateResponse(certificate=m.certificate_pb(facts), pdf=pdf)

    async def GetDecisionCertificates(
        self, request: pb.GetDecisionCertificatesRequest, context: Ctx
    ) -> pb.GetDecisionCertificatesResponse:
        query = service.DecisionCertificates(request.decision_number, self.config)
        found, pdf = await service.decision_pdf(self._uow(), query, current_principal())
        return pb.GetDecisionCertificatesResponse(certificates=[m.certificate_pb(f) for f in found], pdf=pdf)

    async def VerifyCertificate(
        self, request: pb.VerifyCertificateRequest, context: Ctx
    ) -> pb.VerifyCertificateResponse:
        v = await service.verify(self._uow(), service.VerifyCode(request.code), current_principal())
        return m.verification_pb(v)


def register(server: grpc.aio.Server, deps: AwardsDeps) -> None:
    pb_grpc.add_CertificatesServiceServicer_to_server(CertificatesServicer(deps), server)
