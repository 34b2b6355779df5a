"""The gRPC services of awards: d07.awards.v1.AwardsService spans two aggregates (award forms, and rounds,
nominations and awards), so its servicer is composed here from their methods; CertificatesService is the
certificates' own."""

from __future__ import annotations

import grpc

from awards.certificates import grpc as certificates_grpc
from awards.config import AwardsDeps
from awards.forms.grpc import FormsRpc
from awards.nominations.grpc import NominationsRpc
from d07.awards.v1 import awards_pb2_grpc as pb_grpc

SERVICE_NAMES = ["d07.awards.v1.AwardsService", certificates_grpc.SERVICE_NAME]


class AwardsServicer(FormsRpc, NominationsRpc, pb_grpc.AwardsServiceServicer):
    def __init__(self, deps: AwardsDeps) -> None:
        self.deps = deps


def register(server: grpc.aio.Server, deps: AwardsDeps) -> None:
    pb_grpc.add_AwardsServiceServicer_to_server(AwardsServicer(deps), server)
    certificates_grpc.register(server, deps)
