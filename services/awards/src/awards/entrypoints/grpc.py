"""gRPC door of awards: d07.awards.v1.AwardsService."""

from __future__ import annotations

import asyncpg
import grpc

from awards.nominations.grpc import NominationsRpc
from awards.service.forms import list_forms
from d07.awards.v1 import awards_pb2 as pb
from d07.awards.v1 import awards_pb2_grpc as pb_grpc
from d07.platform.grpc import current_principal


class AwardsServicer(NominationsRpc, pb_grpc.AwardsServiceServicer):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def ListAwardForms(
        self, request: pb.ListAwardFormsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAwardFormsResponse:
        forms = await list_forms(self.pool, principal=current_principal())
        return pb.ListAwardFormsResponse(
            forms=[
                pb.AwardForm(code=f.code, name=f.name, issuer=f.issuer, deciding_role=f.deciding_role)
                for f in forms
            ]
        )


def register(server: grpc.aio.Server, pool: asyncpg.Pool) -> None:
    pb_grpc.add_AwardsServiceServicer_to_server(AwardsServicer(pool), server)
