-- The camera network of the Department of Information and Communications.
CREATE TABLE cameras (
    id          uuid PRIMARY KEY,
    code        text        NOT NULL UNIQUE,
    name        text        NOT NULL,
    unit_id     uuid,
    latitude    double precision NOT NULL,
    longitude   double precision NOT NULL,
    address     text        NOT NULL DEFAULT '',
    status      text        NOT NULL CHECK (status IN ('planned', 'installed', 'decommissioned')),
    version     bigint      NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cameras_unit ON cameras (unit_id);
