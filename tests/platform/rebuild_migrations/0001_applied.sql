-- The read model of the rebuild tests' tiny service: one row per handled event, no unique constraint, so an
-- event applied twice shows up as two rows (the same table as tests/platform/events_support.py's).
CREATE TABLE applied (
    n        bigserial PRIMARY KEY,
    event_id uuid NOT NULL,
    key      text NOT NULL,
    seq      bigint NOT NULL,
    name     text NOT NULL
);
