-- Detections from the camera feed and the violations the police handle.

-- Kinds of detection as data: when a detection opens a violation, how urgent it is, how fast it must be handled.
CREATE TABLE detection_kinds (
    kind              text PRIMARY KEY,
    label             text    NOT NULL,              -- Vietnamese
    open_threshold    real    NOT NULL CHECK (open_threshold BETWEEN 0 AND 1),
    priority          text    NOT NULL CHECK (priority IN ('critical', 'high', 'medium', 'low')),
    reaction_minutes  int     NOT NULL CHECK (reaction_minutes > 0)
);
INSERT INTO detection_kinds VALUES
  ('intrusion',  'Xâm nhập trái phép',        0.80, 'high',     30),
  ('loitering',  'Lảng vảng, theo dõi',       0.85, 'medium',  120),
  ('fire_smoke', 'Cháy, khói',                0.70, 'critical', 10),
  ('crowd',      'Tụ tập đông người',          0.80, 'high',     30),
  ('vandalism',  'Phá hoại tài sản',           0.80, 'high',     30),
  ('traffic',    'Vi phạm trật tự giao thông', 0.90, 'low',     240),
  ('other',      'Khác',                       0.95, 'low',     240);

-- Every valid detection, stored once whatever door it came through (the detection id is the identity).
CREATE TABLE detections (
    detection_id  uuid PRIMARY KEY,
    camera_id     uuid        NOT NULL REFERENCES cameras (id),
    occurred_at   timestamptz NOT NULL,
    kind          text        NOT NULL REFERENCES detection_kinds (kind),
    confidence    real        NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    snapshot_url  text        NOT NULL DEFAULT '',
    attributes    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    door          text        NOT NULL CHECK (door IN ('kafka', 'grpc', 'http')),
    received_at   timestamptz NOT NULL DEFAULT now(),
    violation_id  uuid
);
CREATE INDEX detections_camera_time ON detections (camera_id, occurred_at);

-- A violation: opened by a detection above its kind's threshold; later detections of the same camera and kind
-- within the join window add to it instead of opening another.
CREATE TABLE violations (
    id               uuid PRIMARY KEY,
    camera_id        uuid        NOT NULL REFERENCES cameras (id),
    unit_id          uuid,                            -- the unit the camera covered when it opened
    kind             text        NOT NULL REFERENCES detection_kinds (kind),
    priority         text        NOT NULL,
    status           text        NOT NULL DEFAULT 'new'
                     CHECK (status IN ('new', 'acknowledged', 'in_progress', 'resolved', 'dismissed')),
    opened_at        timestamptz NOT NULL DEFAULT now(),
    first_seen_at    timestamptz NOT NULL,
    last_seen_at     timestamptz NOT NULL,
    detection_count  int         NOT NULL DEFAULT 1,
    max_confidence   real        NOT NULL,
    react_by         timestamptz NOT NULL,            -- the reaction deadline (acknowledge by)
    overdue_at       timestamptz,                     -- set once, when the deadline passed unacknowledged
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    assignee         text,
    team             text,
    closed_at        timestamptz,
    outcome          text,
    version          bigint      NOT NULL DEFAULT 1
);
-- At most one open violation per camera and kind joins new detections.
CREATE INDEX violations_open ON violations (camera_id, kind, last_seen_at) WHERE status IN ('new', 'acknowledged', 'in_progress');
CREATE INDEX violations_unit ON violations (unit_id, opened_at);
CREATE INDEX violations_due ON violations (react_by) WHERE status = 'new' AND overdue_at IS NULL;

-- The activity log of a violation (state changes, handover from DIC operators to the police, assignments,
-- comments) and, through `seq`, the ordered feed that WatchViolations streams and resumes from.
CREATE TABLE violation_activity (
    seq           bigserial PRIMARY KEY,
    violation_id  uuid        NOT NULL REFERENCES violations (id),
    at            timestamptz NOT NULL DEFAULT now(),
    actor         text        NOT NULL,
    action        text        NOT NULL,               -- opened, joined, acknowledged, handed_over, assigned, ...
    details       jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX violation_activity_violation ON violation_activity (violation_id, seq);

CREATE FUNCTION violation_activity_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('d07_violations_' || TG_TABLE_SCHEMA, '');
    RETURN NULL;
END $$;
CREATE TRIGGER violation_activity_notify AFTER INSERT ON violation_activity
    FOR EACH STATEMENT EXECUTE FUNCTION violation_activity_notify();
