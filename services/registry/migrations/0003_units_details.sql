-- Units in full: sub-kinds (data), parent organisation, head, contact, staff count, name search, the
-- history of merges, splits and dissolutions, and the rules (data) that put units out of scope of the
-- safety standard. A unit's scope is never stored: it is derived from unit_scope_rules when read.

-- Sub-kinds of each kind, with their Vietnamese labels.
CREATE TABLE unit_sub_kinds (
    code      text PRIMARY KEY,
    kind      text NOT NULL CHECK (kind IN ('agency', 'enterprise', 'school')),
    label     text NOT NULL,
    position  int  NOT NULL DEFAULT 0,
    UNIQUE (kind, code)
);

INSERT INTO unit_sub_kinds (code, kind, label, position) VALUES
    ('state_agency',        'agency',     'Cơ quan nhà nước',                          10),
    ('party_agency',        'agency',     'Cơ quan Đảng',                              20),
    ('mass_organisation',   'agency',     'Tổ chức chính trị - xã hội, đoàn thể',      30),
    ('public_service_unit', 'agency',     'Đơn vị sự nghiệp công lập',                 40),
    ('state_enterprise',    'enterprise', 'Doanh nghiệp nhà nước',                     10),
    ('private_enterprise',  'enterprise', 'Doanh nghiệp ngoài nhà nước',               20),
    ('fdi_enterprise',      'enterprise', 'Doanh nghiệp có vốn đầu tư nước ngoài',     30),
    ('cooperative',         'enterprise', 'Hợp tác xã',                                40),
    ('small_enterprise',    'enterprise', 'Doanh nghiệp nhỏ',                          50),
    ('micro_enterprise',    'enterprise', 'Doanh nghiệp siêu nhỏ',                     60),
    ('university',          'school',     'Trường đại học',                            10),
    ('college',             'school',     'Trường cao đẳng',                           20),
    ('vocational',          'school',     'Trường trung cấp, cơ sở giáo dục nghề nghiệp', 30),
    ('high_school',         'school',     'Trường trung học phổ thông',                40),
    ('lower_secondary',     'school',     'Trường trung học cơ sở',                    50),
    ('primary',             'school',     'Trường tiểu học',                           60),
    ('kindergarten',        'school',     'Trường mầm non',                            70);

-- Rules that put units OUT of scope: a unit matching every condition a rule sets (kind, sub-kind, fewer
-- staff than staff_below) is out of scope; a unit no rule matches is in scope. A unit of unknown staff
-- count is not matched by a staff condition.
CREATE TABLE unit_scope_rules (
    code         text PRIMARY KEY,
    kind         text CHECK (kind IN ('agency', 'enterprise', 'school')),
    sub_kind     text REFERENCES unit_sub_kinds (code),
    staff_below  int  CHECK (staff_below > 0),
    reason       text NOT NULL,
    CHECK (kind IS NOT NULL OR sub_kind IS NOT NULL OR staff_below IS NOT NULL)
);

INSERT INTO unit_scope_rules (code, sub_kind, reason) VALUES
    ('small_enterprise', 'small_enterprise', 'Doanh nghiệp nhỏ không thuộc đối tượng đánh giá'),
    ('micro_enterprise', 'micro_enterprise', 'Doanh nghiệp siêu nhỏ không thuộc đối tượng đánh giá'),
    ('primary',          'primary',          'Trường tiểu học không thuộc đối tượng đánh giá'),
    ('kindergarten',     'kindergarten',     'Trường mầm non không thuộc đối tượng đánh giá');

ALTER TABLE units
    ADD COLUMN sub_kind        text,
    ADD COLUMN parent_unit_id  uuid REFERENCES units (id),
    ADD COLUMN parent_name     text NOT NULL DEFAULT '',
    ADD COLUMN head_name       text NOT NULL DEFAULT '',
    ADD COLUMN head_title      text NOT NULL DEFAULT '',
    ADD COLUMN phone           text NOT NULL DEFAULT '',
    ADD COLUMN email           text NOT NULL DEFAULT '',
    ADD COLUMN staff_count     int  CHECK (staff_count >= 0),
    ADD COLUMN search_name     text NOT NULL DEFAULT '',
    ADD CONSTRAINT units_sub_kind_of_kind FOREIGN KEY (kind, sub_kind) REFERENCES unit_sub_kinds (kind, code);

-- The application stores d07.platform.text.fold(name); units registered before this migration get the
-- same folding from SQL (unaccent maps đ to d).
UPDATE units SET search_name = btrim(regexp_replace(lower(public.unaccent(name)), '\s+', ' ', 'g'));

CREATE INDEX units_search_name ON units (search_name, id);
CREATE INDEX units_kind ON units (kind, sub_kind);
CREATE INDEX units_parent ON units (parent_unit_id) WHERE parent_unit_id IS NOT NULL;

-- The status history: one row per merge, split or dissolution, and the units on each side of it
-- (merge: the sources 'from', the unit they joined 'to'; split: the source 'from', successors 'to';
-- dissolve: the unit 'from').
CREATE TABLE unit_status_changes (
    id            uuid PRIMARY KEY,
    kind          text        NOT NULL CHECK (kind IN ('merge', 'split', 'dissolve')),
    effective_on  date        NOT NULL,
    decision      text        NOT NULL DEFAULT '',
    note          text        NOT NULL DEFAULT '',
    recorded_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE unit_status_change_units (
    change_id  uuid NOT NULL REFERENCES unit_status_changes (id),
    unit_id    uuid NOT NULL REFERENCES units (id),
    side       text NOT NULL CHECK (side IN ('from', 'to')),
    position   int  NOT NULL,
    PRIMARY KEY (change_id, unit_id)
);
CREATE INDEX unit_status_change_units_unit ON unit_status_change_units (unit_id);
