-- Violations as the cameras service announces them: the latest state of each, for the review report.
CREATE TABLE violations (
    violation_id     uuid PRIMARY KEY,
    camera_id        uuid        NOT NULL,
    unit_id          uuid,
    kind             text        NOT NULL,
    priority         text        NOT NULL,
    status           text        NOT NULL,
    opened_at        timestamptz NOT NULL,
    closed_at        timestamptz,
    overdue          boolean     NOT NULL DEFAULT false,
    detection_count  int         NOT NULL,
    event_id         uuid        NOT NULL,
    event_time       timestamptz NOT NULL
);
CREATE INDEX violations_opened ON violations (opened_at);
CREATE INDEX violations_unit ON violations (unit_id, opened_at);
