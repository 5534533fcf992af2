-- Sample schema and data for the demo (scripts/demo.sh) and the seed-job
-- tests (tests/test_seeds.c): the tables of every seed job of conf.d/, each
-- application in a database of its own, as the seeds are five applications
-- with five databases ([database NAME] sections of conf.d/sweepd.ini):
--   skillmap  seed 000 (users)          oneqlick  seed 001 (schema oneqlick)
--   care      seed 002 (schema care)    chatbot   seed 003 (messages)
--   bazaar    seed 004 (schema bazaar)
-- Load it connected to any database of the cluster (psql -f); it creates
-- the five databases when absent and switches to each (\connect).
--
-- Every time is relative to now(), so the data is "fresh" whenever it is
-- loaded, and loading it again starts over.  Expected effect of the jobs:
--   users     1012 rows; 170 are unverified and older than 30 days and go
--             (3 named below + 167 generated); 842 stay
--   messages  2000 rows; 1200 have expired (expires_at < now() AT TIME
--             ZONE 'UTC': the column is naive UTC) and go; 800 stay
-- The schema "sweepd" (audit, history) is sweepd's own: not created here.

\set ON_ERROR_STOP 1

SELECT format('CREATE DATABASE %I', d)
FROM unnest(ARRAY['skillmap', 'oneqlick', 'care', 'chatbot', 'bazaar']) d
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = d)
\gexec


-- The role the seed jobs of conf.d/ run their SQL as (role =
-- sweepd_sample): no superuser, no login, rights on the sample tables
-- only, so a job's SQL cannot end other sessions, write files on the
-- server or run programs there, even in a dry run.  It reads, updates
-- and deletes rows of the sample tables, and adds rows to care.audit_log
-- (scheduled-deletion's audit records); sweepd grants it what its own
-- audit records in sweepd.audit (of each job's database) need.
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sweepd_sample') THEN
		CREATE ROLE sweepd_sample NOLOGIN;
	END IF;
END
$$;

-- Seed 000 (SkillMap): unverified users.
\connect skillmap
BEGIN;
DROP TABLE IF EXISTS users CASCADE;
CREATE TABLE users (
	id             bigserial PRIMARY KEY,
	email          text NOT NULL UNIQUE,
	email_verified boolean NOT NULL DEFAULT false,
	created_at     timestamptz NOT NULL DEFAULT now()
);

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
GRANT SELECT, UPDATE, DELETE ON users TO sweepd_sample;
COMMIT;
ANALYZE users;

-- Seed 003 (the chatbot): expired messages.
\connect chatbot
BEGIN;
DROP TABLE IF EXISTS messages CASCADE;
-- Times without a time zone holding UTC wall-clock times, as seed 003's
-- model writes them (SQLModel datetime fields, set from datetime.utcnow()):
-- the job reads them in its naive_timezone (UTC), whatever the session's
-- TimeZone.
CREATE TABLE messages (
	id              bigserial PRIMARY KEY,
	conversation_id bigint NOT NULL,
	content         text NOT NULL,
	created_at      timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
	expires_at      timestamp NOT NULL
	                DEFAULT (now() AT TIME ZONE 'UTC') + interval '2 days'
);
CREATE INDEX messages_expires_at_idx ON messages (expires_at);

-- 2000 messages over 50 conversations, created over the last 5 days, each
-- kept 2 days.  Message n is (n - 0.5) * 3.6 minutes old, so no message sits
-- on the 2-day boundary and exactly those with n > 800 (60%) have expired.
INSERT INTO messages (conversation_id, content, created_at, expires_at)
SELECT 1 + n % 50,
       format('message %s', n),
       (now() AT TIME ZONE 'UTC') - interval '5 days' * (n - 0.5) / 2000,
       (now() AT TIME ZONE 'UTC') - interval '5 days' * (n - 0.5) / 2000
           + interval '2 days'
FROM generate_series(1, 2000) AS n;
GRANT SELECT, UPDATE, DELETE ON messages TO sweepd_sample;
COMMIT;
ANALYZE messages;

\connect oneqlick
BEGIN;
-- Seed 001: pending users whose e-mail already exists among the users go
-- (ignoring case); the others stay.
DROP SCHEMA IF EXISTS oneqlick CASCADE;
CREATE SCHEMA oneqlick;
CREATE TABLE oneqlick.users (
	user_id    bigserial PRIMARY KEY,
	email      text NOT NULL UNIQUE,
	phone      text,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE oneqlick.pending_users (
	pending_user_id bigserial PRIMARY KEY,
	email           text,
	phone           text,
	created_at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO oneqlick.users (email, phone)
SELECT format('user%s@example.com', n), format('+4930%07s', n)
FROM generate_series(1, 500) AS n;
-- 300 pending: n <= 100 registered meanwhile (every 4th in other case),
-- n in 101..290 not registered, n > 290 with no e-mail at all.
INSERT INTO oneqlick.pending_users (email, phone)
SELECT CASE WHEN n > 290 THEN NULL
            WHEN n <= 100 AND n % 4 = 0 THEN format('User%s@Example.COM', n)
            WHEN n <= 100 THEN format('user%s@example.com', n)
            ELSE format('new%s@example.com', n) END,
       format('+4940%07s', n)
FROM generate_series(1, 300) AS n;
GRANT USAGE ON SCHEMA oneqlick TO sweepd_sample;
GRANT SELECT, UPDATE, DELETE ON ALL TABLES IN SCHEMA oneqlick TO sweepd_sample;
COMMIT;

\connect care
BEGIN;
-- Seed 002: profiles scheduled for deletion go with their rows in every
-- child table (clinical notes reference a user as patient or therapist),
-- one audit_log row action 'hard_deleted' each.  Profiles 1-6 are due;
-- 7-8 are scheduled in the future; 9 is due but already soft-deleted;
-- 10-20 are not scheduled.
DROP SCHEMA IF EXISTS care CASCADE;
CREATE SCHEMA care;
CREATE TABLE care.profiles (
	id                    bigint PRIMARY KEY,
	email                 text NOT NULL,
	deletion_scheduled_at timestamptz,
	deleted_at            timestamptz
);
CREATE TABLE care.check_ins (
	id      bigserial PRIMARY KEY,
	user_id bigint NOT NULL REFERENCES care.profiles (id),
	at      timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE care.crisis_plan (
	id      bigserial PRIMARY KEY,
	user_id bigint NOT NULL REFERENCES care.profiles (id),
	plan    text NOT NULL
);
CREATE TABLE care.clinical_notes (
	id           bigserial PRIMARY KEY,
	patient_id   bigint NOT NULL REFERENCES care.profiles (id),
	therapist_id bigint NOT NULL REFERENCES care.profiles (id),
	note         text NOT NULL
);
CREATE TABLE care.therapist_patients (
	patient_id   bigint NOT NULL REFERENCES care.profiles (id),
	therapist_id bigint NOT NULL REFERENCES care.profiles (id),
	PRIMARY KEY (patient_id, therapist_id)
);
CREATE TABLE care.user_consent (
	user_id bigint PRIMARY KEY REFERENCES care.profiles (id),
	consent text NOT NULL
);
CREATE TABLE care.audit_log (
	id         bigserial PRIMARY KEY,
	user_id    bigint,
	action     text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO care.profiles (id, email, deletion_scheduled_at, deleted_at)
SELECT n, format('person%s@care.example', n),
       CASE WHEN n <= 6 OR n = 9 THEN now() - interval '1 day' * n
            WHEN n <= 8 THEN now() + interval '3 days' END,
       CASE WHEN n = 9 THEN now() - interval '1 day' END
FROM generate_series(1, 20) AS n;
INSERT INTO care.check_ins (user_id) SELECT 1 + n % 20 FROM generate_series(0, 59) n;
INSERT INTO care.crisis_plan (user_id, plan)
SELECT n, 'plan ' || n FROM generate_series(1, 20) n WHERE n % 2 = 1;
-- Therapists are profiles 2 (due) and 15 (stays).  Note 1 links two due
-- users; notes of patient 10 with therapist 2 go with therapist 2.
INSERT INTO care.clinical_notes (patient_id, therapist_id, note) VALUES
	(1, 2, 'two due users'), (3, 15, 'due patient'), (10, 2, 'due therapist'),
	(11, 15, 'neither due'), (12, 15, 'neither due'), (7, 15, 'future');
INSERT INTO care.therapist_patients VALUES
	(1, 2), (3, 15), (10, 2), (11, 15), (12, 15), (7, 15);
INSERT INTO care.user_consent (user_id, consent)
SELECT n, 'v1' FROM generate_series(1, 20) n;
GRANT USAGE ON SCHEMA care TO sweepd_sample;
GRANT SELECT, UPDATE, DELETE ON ALL TABLES IN SCHEMA care TO sweepd_sample;
GRANT INSERT ON care.audit_log TO sweepd_sample;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA care TO sweepd_sample;
COMMIT;

\connect bazaar
BEGIN;
-- Seed 004: the Multiverse Bazaar's seven jobs.
DROP SCHEMA IF EXISTS bazaar CASCADE;
CREATE SCHEMA bazaar;
CREATE TABLE bazaar.members (
	id                      bigint PRIMARY KEY,
	email                   text,
	display_name            text NOT NULL,
	bio                     text,
	avatar_path             text,
	karma                   integer NOT NULL DEFAULT 0,
	deletion_requested_at   timestamptz,
	anonymize_contributions boolean NOT NULL DEFAULT true,
	deleted_at              timestamptz  -- set once the deletion is final
);
CREATE TABLE bazaar.projects (
	id         bigserial PRIMARY KEY,
	owner_id   bigint NOT NULL REFERENCES bazaar.members (id),
	title      text NOT NULL,
	image_path text
);
CREATE TABLE bazaar.votes (
	id             bigserial PRIMARY KEY,
	voter_id       bigint NOT NULL REFERENCES bazaar.members (id),
	target_user_id bigint NOT NULL REFERENCES bazaar.members (id),
	value          integer NOT NULL
);
CREATE TABLE bazaar.invitations (
	id         bigserial PRIMARY KEY,
	email      text NOT NULL,
	status     text NOT NULL,
	created_at timestamptz NOT NULL
);
CREATE TABLE bazaar.push_tokens (
	id           bigserial PRIMARY KEY,
	user_id      bigint NOT NULL REFERENCES bazaar.members (id),
	token        text NOT NULL,
	last_used_at timestamptz NOT NULL
);
CREATE TABLE bazaar.audit_logs (
	id         bigserial PRIMARY KEY,
	user_id    bigint,
	ip_address text,
	user_agent text,
	metadata   jsonb,
	created_at timestamptz NOT NULL
);
CREATE TABLE bazaar.uploaded_files (
	id         bigserial PRIMARY KEY,
	path       text NOT NULL UNIQUE,
	created_at timestamptz NOT NULL
);
-- 60 members.  Members 51-55 asked for deletion 40 days ago: 51-53 keep
-- their contributions anonymized, 54-55 go entirely; 56 asked 5 days ago.
-- Each of them has a push token and audit logs (below); 51 and 54 have an
-- avatar (not among the uploaded files), and projects and votes are added
-- for them after the generated ones.
INSERT INTO bazaar.members (id, email, display_name, bio, avatar_path,
                            deletion_requested_at, anonymize_contributions)
SELECT n, format('member%s@bazaar.example', n), format('Member %s', n),
       'bio of ' || n,
       CASE WHEN n % 10 = 0 OR n IN (51, 54)
            THEN format('avatars/%s.png', n) END,
       CASE WHEN n BETWEEN 51 AND 55 THEN now() - interval '40 days'
            WHEN n = 56 THEN now() - interval '5 days' END,
       n NOT IN (54, 55)
FROM generate_series(1, 60) AS n;
INSERT INTO bazaar.projects (owner_id, title, image_path)
SELECT n, 'project ' || n,
       CASE WHEN n % 5 = 0 THEN format('projects/%s.jpg', n) END
FROM generate_series(1, 40) AS n;
-- Votes; karma is left stale (0) for everyone, so recalculation has work.
INSERT INTO bazaar.votes (voter_id, target_user_id, value)
SELECT 1 + n % 50, 1 + (n * 7) % 50, CASE WHEN n % 4 = 0 THEN -1 ELSE 1 END
FROM generate_series(1, 400) AS n;
-- Contributions of the members 51-55 who asked for deletion: a project
-- each for 52, 54, 55; votes cast by each of them and for each of them.
INSERT INTO bazaar.projects (owner_id, title)
SELECT n, 'project of ' || n FROM unnest(ARRAY[52, 54, 55]) AS n;
INSERT INTO bazaar.votes (voter_id, target_user_id, value)
SELECT 50 + k, k, 1 FROM generate_series(1, 5) AS k
UNION ALL SELECT k, 50 + k, 1 FROM generate_series(1, 5) AS k;
-- Invitations: pending older than 30 days go (20); pending younger (10),
-- accepted or declined of any age (20) stay.
INSERT INTO bazaar.invitations (email, status, created_at)
SELECT format('guest%s@bazaar.example', n),
       CASE WHEN n <= 30 THEN 'pending'
            WHEN n % 2 = 0 THEN 'accepted' ELSE 'declined' END,
       now() - interval '1 day' * CASE WHEN n <= 20 THEN 31 + n
                                       WHEN n <= 30 THEN n - 20
                                       ELSE n END
FROM generate_series(1, 50) AS n;
-- Push tokens: last used 0..179 days ago, one per 3 days per member 1-60;
-- those unused for more than 90 days go.
INSERT INTO bazaar.push_tokens (user_id, token, last_used_at)
SELECT 1 + n % 60, md5(n::text), now() - interval '3 days' * n - interval '1 hour'
FROM generate_series(0, 59) AS n;
-- Audit logs, one every 10 days back ~4 years, with PII in nested JSON
-- under the keys of issue 15 (Email, userEmail, firstName, phoneNumber,
-- emails) and in a JSON document held as a string (context), beside keys
-- that are not personal (event, plan, step, filename, namespace): older
-- than 1 year are anonymized, older than 3 years deleted.
INSERT INTO bazaar.audit_logs (user_id, ip_address, user_agent, metadata,
                               created_at)
SELECT 1 + n % 60, format('10.0.%s.%s', n / 250, n % 250), 'Mozilla/5.0',
       jsonb_build_object('event', 'login', 'email', format('m%s@b.example', n),
                          'Email', format('M%s@B.example', n),
                          'userEmail', format('u%s@b.example', n),
                          'emails', jsonb_build_array('a@b.example', 'c@b.example'),
                          'filename', 'report.pdf', 'namespace', 'billing',
                          'profile', jsonb_build_object('name', 'Name ' || n,
                              'firstName', 'First', 'phoneNumber', '+1556' || n,
                              'phone', '+1555' || n, 'plan', 'pro'),
                          'history', jsonb_build_array(
                              jsonb_build_object('address', n || ' Main St',
                                                 'step', 1)),
                          'context', jsonb_build_object('email',
                              format('c%s@b.example', n), 'via', 'web')::text),
       now() - interval '10 days' * n - interval '1 hour'
FROM generate_series(0, 145) AS n;
-- Uploaded files (scripts/sample-uploads.sh creates them on disk): avatars
-- of members with n % 10 = 0 and images of projects with n % 5 = 0 are
-- referenced; the orphans/... records are not.  All recorded 40 days ago
-- but orphans/new-*.bin, recorded 1 day ago; orphans/gone-*.bin have no
-- file, outside-link is a symlink.
INSERT INTO bazaar.uploaded_files (path, created_at)
SELECT p, now() - interval '1 day' * d
FROM (SELECT format('avatars/%s.png', n), 40 FROM generate_series(10, 60, 10) n
      UNION ALL SELECT format('projects/%s.jpg', n), 40 FROM generate_series(5, 40, 5) n
      UNION ALL SELECT format('orphans/old-%s.bin', n), 40 FROM generate_series(1, 5) n
      UNION ALL SELECT format('orphans/touched-%s.bin', n), 40 FROM generate_series(1, 2) n
      UNION ALL SELECT format('orphans/new-%s.bin', n), 1 FROM generate_series(1, 3) n
      UNION ALL SELECT format('orphans/gone-%s.bin', n), 40 FROM generate_series(1, 2) n
      UNION ALL SELECT 'outside-link', 40
     ) f(p, d);
GRANT USAGE ON SCHEMA bazaar TO sweepd_sample;
GRANT SELECT, UPDATE, DELETE ON ALL TABLES IN SCHEMA bazaar TO sweepd_sample;
COMMIT;
