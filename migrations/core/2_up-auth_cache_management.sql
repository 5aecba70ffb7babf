-- Authorization cache housekeeping: when an entry was last used (AuthCacheLifeTime counts from
-- there, C10.FR.08; the oldest go first when the cache is full, C10.FR.07) and when it expires
-- (C10.FR.10), both as milliseconds since the Unix epoch. Existing entries count as never used.
ALTER TABLE AUTH_CACHE ADD COLUMN LAST_USED INT64 NOT NULL DEFAULT 0;
ALTER TABLE AUTH_CACHE ADD COLUMN EXPIRY_DATE INT64;
