-- Award forms as data: who issues which certificate, and which role decides it.
CREATE TABLE award_forms (
    code           text PRIMARY KEY,
    name           text NOT NULL,
    issuer         text NOT NULL,
    deciding_role  text NOT NULL
);

INSERT INTO award_forms VALUES
  ('merit', 'Bằng khen', 'Chủ tịch Ủy ban nhân dân tỉnh', 'chairman_office'),
  ('commendation', 'Giấy khen', 'Giám đốc Công an tỉnh', 'police');
