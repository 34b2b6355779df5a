-- Units: the agencies, enterprises and schools of the province.
CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;

CREATE TABLE units (
    id             uuid PRIMARY KEY,
    code           text        NOT NULL UNIQUE,
    name           text        NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('agency', 'enterprise', 'school')),
    district_code  text        NOT NULL,
    commune_code   text        NOT NULL DEFAULT '',
    address        text        NOT NULL DEFAULT '',
    status         text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'merged', 'dissolved')),
    version        bigint      NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX units_district ON units (district_code);
