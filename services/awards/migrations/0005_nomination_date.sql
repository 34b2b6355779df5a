-- The day a nomination was made: today (in the province) for a live round, the paper record's day (inside the
-- round's window) for a historical one. A decision is never dated before it. Rows made before the column
-- existed take the day they were created.
ALTER TABLE nominations
    ADD COLUMN nominated_on date NOT NULL DEFAULT ((now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date);
UPDATE nominations SET nominated_on = (created_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date;
