-- A round entered from the paper records of a review held before the platform was in use (the 2014-2019
-- interim review): nominations are taken outside its (historical) window.
ALTER TABLE rounds ADD COLUMN historical boolean NOT NULL DEFAULT false;
