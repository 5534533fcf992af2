-- Sample schema and data for the demo (scripts/demo.sh): the tables of seed
-- 000 (cleanup-unverified-users) and seed 003 (message-cleanup).
--
-- Every time is relative to now(), so the data is "fresh" whenever it is
-- loaded, and loading it again starts over.  Expected effect of the jobs:
--   users     1012 rows; 170 are unverified and older than 30 days and go
--             (3 named below + 167 generated); 842 stay
--   messages  2000 rows; 1200 have expired (expires_at < now()) and go;
--             800 stay
-- The schema "sweepd" (audit, history) is sweepd's own: not created here.

\set ON_ERROR_STOP 1

BEGIN;

DROP TABLE IF EXISTS messages CASCADE;
DROP TABLE IF EXISTS users CASCADE;

CREATE TABLE users (
	id             bigserial PRIMARY KEY,
	email          text NOT NULL UNIQUE,
	email_verified boolean NOT NULL DEFAULT false,
	created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE messages (
	id              bigserial PRIMARY KEY,
	conversation_id bigint NOT NULL,
	content         text NOT NULL,
	created_at      timestamptz NOT NULL DEFAULT now(),
	expires_at      timestamptz NOT NULL DEFAULT now() + interval '2 days'
);
CREATE INDEX messages_expires_at_idx ON messages (expires_at);

-- Named users: one of each case the job must get right.
INSERT INTO users (email, email_verified, created_at) VALUES
	-- unverified for more than 30 days: deleted (the three of seed 000)
	('test@example.com',     false, now() - interval '45 days'),
	('fake@test.com',        false, now() - interval '40 days'),
	('old@user.com',         false, now() - interval '35 days'),
	-- unverified, still within the 30-day grace period: kept
	('new@user.com',         false, now() - interval '1 day'),
	('pending@example.com',  false, now() - interval '10 days'),
	('slow@example.com',     false, now() - interval '25 days'),
	-- one hour short of 30 days: kept
	('almost@example.com',   false, now() - interval '29 days 23 hours'),
	-- verified: never touched, however old
	('alice@example.com',    true,  now() - interval '400 days'),
	('bob@example.com',      true,  now() - interval '90 days'),
	('carol@example.com',    true,  now() - interval '31 days'),
	('dave@example.com',     true,  now() - interval '5 days'),
	('erin@example.com',     true,  now() - interval '1 hour');

-- 1000 generated users, one every 86.4 minutes back to 60 days ago; every
-- third is unverified.  Those older than 30 days (n > 500) and unverified
-- make 167 more rows to delete, enough for several batches.
INSERT INTO users (email, email_verified, created_at)
SELECT format('user%s@bulk.example', lpad(n::text, 4, '0')),
       n % 3 <> 0,
       now() - interval '60 days' * n / 1000
FROM generate_series(1, 1000) AS n;

-- 2000 messages over 50 conversations, created over the last 5 days, each
-- kept 2 days.  Message n is (n - 0.5) * 3.6 minutes old, so no message sits
-- on the 2-day boundary and exactly those with n > 800 (60%) have expired.
INSERT INTO messages (conversation_id, content, created_at, expires_at)
SELECT 1 + n % 50,
       format('message %s', n),
       now() - interval '5 days' * (n - 0.5) / 2000,
       now() - interval '5 days' * (n - 0.5) / 2000 + interval '2 days'
FROM generate_series(1, 2000) AS n;

COMMIT;

ANALYZE users;
ANALYZE messages;
