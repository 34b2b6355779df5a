"""gRPC methods of award forms (part of d07.awards.v1.AwardsService, composed in `awards.grpc`)."""

from __future__ import annotations

import grpc

from awards.config import AwardsDeps
from awards.forms import service
from awards.forms.service import FormsUnitOfWork, ListForms
from d07.awards.v1 import awards_pb2 as pb
from d07.platform.grpc import current_principal


class FormsRpc:
    """Mixed into the AwardsService servicer, which holds the dependencies."""

    deps: AwardsDeps

    async def ListAwardForms(
        self, request: pb.ListAwardFormsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAwardFormsResponse:
        forms = await service.list_forms(self.deps.uow(FormsUnitOfWork), ListForms(), current_principal())
        return pb.ListAwardFormsResponse(
            forms=[
                pb.AwardForm(code=f.code, name=f.name, issuer=f.issuer, deciding_role=f.deciding_role)
                for f in forms
            ]
        )
