"""The gRPC door of assessment: one proto service, d07.assessment.v1.AssessmentService, whose methods belong
to four aggregates; each aggregate's `grpc.py` holds its methods, joined here into one servicer."""

from __future__ import annotations

import grpc

from assessment.actions.grpc import ActionsMethods
from assessment.config import AssessmentDeps
from assessment.criteria.grpc import CriteriaMethods
from assessment.known_units.grpc import KnownUnitMethods
from assessment.rounds.grpc import RoundsMethods
from d07.assessment.v1 import assessment_pb2_grpc as pb_grpc

SERVICE_NAME = "d07.assessment.v1.AssessmentService"


class AssessmentServicer(
    CriteriaMethods, KnownUnitMethods, RoundsMethods, ActionsMethods, pb_grpc.AssessmentServiceServicer
):
    def __init__(self, deps: AssessmentDeps) -> None:
        self.deps = deps


def register(server: grpc.aio.Server, deps: AssessmentDeps) -> None:
    pb_grpc.add_AssessmentServiceServicer_to_server(AssessmentServicer(deps), server)
