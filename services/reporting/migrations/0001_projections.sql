-- Read models kept from the other services' events. Each row remembers the event that last changed it.
CREATE TABLE units (
    unit_id        uuid PRIMARY KEY,
    code           text        NOT NULL,
    name           text        NOT NULL,
    kind           text        NOT NULL,
    district_code  text        NOT NULL,
    status         text        NOT NULL,
    version        bigint      NOT NULL,
    event_id       uuid        NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cameras (
    camera_id      uuid PRIMARY KEY,
    code           text        NOT NULL,
    unit_id        uuid,
    status         text        NOT NULL,
    version        bigint      NOT NULL,
    event_id       uuid        NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- How far each stream has been applied.
CREATE TABLE stream_status (
    topic          text PRIMARY KEY,
    events_applied bigint      NOT NULL DEFAULT 0,
    last_event_at  timestamptz
);
