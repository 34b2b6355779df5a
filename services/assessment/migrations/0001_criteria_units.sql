-- Criteria sets of the "Safe regarding security and order" standard, kept as versioned data, and the
-- read copy of the registry's units.
CREATE TABLE criteria_sets (
    code            text    NOT NULL,
    version         int     NOT NULL,
    title           text    NOT NULL,
    valid_from_year int     NOT NULL,
    valid_to_year   int,
    pass_rule       text    NOT NULL CHECK (pass_rule IN ('all_criteria', 'all_mandatory')),
    unit_kinds      text[]  NOT NULL,
    PRIMARY KEY (code, version)
);

CREATE TABLE criteria (
    set_code     text    NOT NULL,
    set_version  int     NOT NULL,
    code         text    NOT NULL,
    position     int     NOT NULL,
    text         text    NOT NULL,
    mandatory    boolean NOT NULL,
    PRIMARY KEY (set_code, set_version, code),
    FOREIGN KEY (set_code, set_version) REFERENCES criteria_sets (code, version)
);

INSERT INTO criteria_sets VALUES
  ('TT23-2012', 1, 'Tiêu chuẩn "An toàn về an ninh, trật tự" theo Thông tư 23/2012/TT-BCA', 2012, 2021,
   'all_mandatory', ARRAY['agency', 'enterprise', 'school']),
  ('TT124-2021', 1, 'Tiêu chuẩn "An toàn về an ninh, trật tự" theo Thông tư 124/2021/TT-BCA', 2022, NULL,
   'all_criteria', ARRAY['agency', 'enterprise', 'school']);

INSERT INTO criteria VALUES
  ('TT23-2012', 1, 'TC1', 1, 'Tổ chức tốt việc tuyên truyền, phổ biến, giáo dục pháp luật và xây dựng phong trào toàn dân bảo vệ an ninh Tổ quốc', true),
  ('TT23-2012', 1, 'TC2', 2, 'Không để xảy ra vụ việc phức tạp về an ninh, trật tự; không có cán bộ, nhân viên vi phạm pháp luật bị xử lý hình sự', true),
  ('TT23-2012', 1, 'TC3', 3, 'Có lực lượng bảo vệ được kiện toàn, huấn luyện và hoạt động có hiệu quả', true),
  ('TT23-2012', 1, 'TC4', 4, 'Có mô hình, điển hình tiên tiến trong phong trào toàn dân bảo vệ an ninh Tổ quốc', false),
  ('TT124-2021', 1, 'TC1', 1, 'Thực hiện tốt công tác tuyên truyền, phổ biến, giáo dục pháp luật về an ninh, trật tự', true),
  ('TT124-2021', 1, 'TC2', 2, 'Không để xảy ra vụ việc về an ninh, trật tự nghiêm trọng tại cơ quan, doanh nghiệp, nhà trường', true),
  ('TT124-2021', 1, 'TC3', 3, 'Xây dựng, củng cố lực lượng bảo vệ; bồi dưỡng nghiệp vụ bảo vệ hằng năm', true),
  ('TT124-2021', 1, 'TC4', 4, 'Có ít nhất một mô hình phong trào toàn dân bảo vệ an ninh Tổ quốc hoạt động hiệu quả', true),
  ('TT124-2021', 1, 'TC5', 5, 'Phối hợp với Công an xử lý kịp thời các vi phạm được phát hiện qua hệ thống camera giám sát', true);

CREATE TABLE units (
    unit_id        uuid PRIMARY KEY,
    code           text   NOT NULL,
    name           text   NOT NULL,
    kind           text   NOT NULL,
    district_code  text   NOT NULL,
    version        bigint NOT NULL
);
