-- Administrative divisions of the province, loaded from services/registry/data/divisions.json at start.
CREATE TABLE districts (
    code         text PRIMARY KEY,
    name         text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('city', 'town', 'district')),
    data_version text NOT NULL
);

CREATE TABLE communes (
    code          text PRIMARY KEY,
    district_code text NOT NULL REFERENCES districts (code),
    name          text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('ward', 'commune', 'township')),
    data_version  text NOT NULL
);
CREATE INDEX communes_district ON communes (district_code);

-- Which version of the data file is loaded.
CREATE TABLE division_data (
    version    text PRIMARY KEY,
    province   text NOT NULL,
    loaded_at  timestamptz NOT NULL DEFAULT now()
);
