-- Movement models (mô hình phong trào toàn dân bảo vệ an ninh Tổ quốc), hosted by a unit or by a community.

-- The kinds of model are data: a new kind is a row, not a code change. host_types says which hosts a kind fits.
CREATE TABLE model_kinds (
    code        text PRIMARY KEY,
    label       text   NOT NULL,
    host_types  text[] NOT NULL CHECK (host_types <@ ARRAY['unit', 'community'] AND cardinality(host_types) > 0),
    position    int    NOT NULL
);

INSERT INTO model_kinds (code, label, host_types, position) VALUES
    ('self_managed_team',     'Tổ tự quản về an ninh trật tự',                     ARRAY['unit', 'community'], 1),
    ('security_camera',       'Camera an ninh',                                     ARRAY['unit', 'community'], 2),
    ('safe_school',           'Trường học an toàn về an ninh trật tự',             ARRAY['unit'],              3),
    ('safe_enterprise',       'Doanh nghiệp an toàn về an ninh trật tự',           ARRAY['unit'],              4),
    ('safe_agency',           'Cơ quan an toàn về an ninh trật tự',                ARRAY['unit'],              5),
    ('security_cluster',      'Cụm liên kết an ninh trật tự',                      ARRAY['unit', 'community'], 6),
    ('safe_residential_area', 'Khu dân cư an toàn về an ninh trật tự',             ARRAY['community'],         7),
    ('self_managed_clan',     'Dòng họ tự quản về an ninh trật tự',                ARRAY['community'],         8),
    ('self_managed_road',     'Tuyến đường tự quản về an ninh trật tự',            ARRAY['community'],         9),
    ('fire_safety_group',     'Tổ liên gia an toàn phòng cháy, chữa cháy',         ARRAY['unit', 'community'], 10),
    ('security_information',  'Hòm thư tố giác tội phạm, đường dây nóng an ninh',  ARRAY['unit', 'community'], 11),
    ('other',                 'Mô hình khác',                                       ARRAY['unit', 'community'], 99);

-- Exactly one host: a unit, or a commune (with an optional residential area). district_code is derived from
-- the host when the host is set (the unit's district, or the commune's).
CREATE TABLE models (
    id                uuid PRIMARY KEY,
    name              text        NOT NULL,
    search_name       text        NOT NULL,
    kind              text        NOT NULL REFERENCES model_kinds (code),
    host_type         text        NOT NULL CHECK (host_type IN ('unit', 'community')),
    unit_id           uuid        REFERENCES units (id),
    commune_code      text        REFERENCES communes (code),
    residential_area  text        NOT NULL DEFAULT '',
    district_code     text        NOT NULL REFERENCES districts (code),
    formation         text        NOT NULL CHECK (formation IN ('built', 'consolidated')),
    formed_on         date        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('built', 'consolidated', 'effective', 'inactive')),
    status_on         date        NOT NULL,
    description       text        NOT NULL DEFAULT '',
    version           bigint      NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT models_one_host CHECK (
        (host_type = 'unit' AND unit_id IS NOT NULL AND commune_code IS NULL AND residential_area = '')
        OR (host_type = 'community' AND unit_id IS NULL AND commune_code IS NOT NULL)
    )
);
CREATE INDEX models_name ON models (search_name, id);
CREATE INDEX models_unit ON models (unit_id, search_name, id) WHERE unit_id IS NOT NULL;
CREATE INDEX models_formed ON models (formed_on, district_code);

-- Every status a model had: the first row (from_status NULL) is its registration, on formed_on.
CREATE TABLE model_status_history (
    model_id     uuid        NOT NULL REFERENCES models (id),
    seq          int         NOT NULL,
    from_status  text,
    to_status    text        NOT NULL,
    changed_on   date        NOT NULL,
    note         text        NOT NULL DEFAULT '',
    actor        text        NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, seq)
);
-- Consolidations after registration: they count a model in the period they fall in.
CREATE INDEX model_history_consolidated ON model_status_history (changed_on, model_id)
    WHERE to_status = 'consolidated' AND from_status IS NOT NULL;
