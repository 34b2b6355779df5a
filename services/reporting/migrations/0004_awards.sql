-- Decided awards as the awards service announces them (AwardDecided, AwardRevoked): one row per award; a
-- revoked award stays, marked, and no longer counts.
CREATE TABLE awards (
    award_id        uuid PRIMARY KEY,
    round_id        uuid        NOT NULL,
    form_code       text        NOT NULL,
    recipient_kind  text        NOT NULL,
    unit_id         uuid        NOT NULL,
    decision_number text        NOT NULL,
    decided_on      date        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('decided', 'revoked')),
    event_id        uuid        NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX awards_counts ON awards (round_id, status, form_code, recipient_kind);
CREATE INDEX awards_decided_on ON awards (decided_on, status);
