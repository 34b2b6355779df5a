"""The projections' consumer: the topics it reads, one batch handler for all of them."""

from __future__ import annotations

from d07.platform.runtime import ConsumerSpec
from reporting.projections.domain import CONSUMER_NAME
from reporting.projections.service import PROJECTORS, project

UNITS_TOPIC = "d07.registry.units.v1"
CAMERAS_TOPIC = "d07.cameras.cameras.v1"
VIOLATIONS_TOPIC = "d07.cameras.violations.v1"
ASSESSMENTS_TOPIC = "d07.assessment.assessments.v1"
AWARDS_TOPIC = "d07.awards.awards.v1"
MODELS_TOPIC = "d07.registry.models.v1"
TRAINING_TOPIC = "d07.registry.training.v1"
PLANS_TOPIC = "d07.cameras.plans.v1"

TOPICS = [
    UNITS_TOPIC,
    CAMERAS_TOPIC,
    VIOLATIONS_TOPIC,
    ASSESSMENTS_TOPIC,
    AWARDS_TOPIC,
    MODELS_TOPIC,
    TRAINING_TOPIC,
    PLANS_TOPIC,
]
# Every message of those topics (the decoder knows exactly these: each has its projector).
MESSAGES = list(PROJECTORS)

CONSUMER = ConsumerSpec(
    name=CONSUMER_NAME, batch_handler=project, batch_topics=TOPICS, batch_messages=MESSAGES
)
