-- Finalised assessment results as the assessment service announces them (AssessmentFinalised,
-- AssessmentRevised): one row per assessment (a unit in a round), the latest revision wins, so a correction
-- replaces the old result instead of adding a second one.
CREATE TABLE assessments (
    assessment_id   uuid PRIMARY KEY,
    round_id        uuid        NOT NULL,
    unit_id         uuid        NOT NULL,
    year            int         NOT NULL,
    unit_kind       text        NOT NULL,
    district_code   text        NOT NULL,
    criteria_set    text        NOT NULL,
    result          text        NOT NULL CHECK (result IN ('passed', 'failed')),
    score           numeric(5, 2) NOT NULL,
    unmet_criteria  text[]      NOT NULL,
    revision        int         NOT NULL,
    finalised_at    timestamptz,
    event_id        uuid        NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (unit_id, round_id)
);
CREATE INDEX assessments_year ON assessments (year, result);
