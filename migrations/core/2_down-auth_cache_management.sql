-- Undo 2_up: the cache entries stay, only their housekeeping columns go.
ALTER TABLE AUTH_CACHE DROP COLUMN EXPIRY_DATE;
ALTER TABLE AUTH_CACHE DROP COLUMN LAST_USED;
