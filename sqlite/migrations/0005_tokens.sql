-- API tokens: who may use cairn serve's API, and with which role. hash is
-- the hex SHA-256 of the bearer secret, which is never stored. Revoked
-- tokens are kept (revoked = 1), so that a name or secret is never
-- reused. seq orders tokens created at the same time by insertion;
-- last_used is NULL while unknown.
CREATE TABLE api_tokens (
	seq        INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE,
	role       TEXT    NOT NULL,
	hash       TEXT    NOT NULL UNIQUE,
	created    INTEGER NOT NULL, -- unix nanoseconds
	created_by TEXT    NOT NULL,
	last_used  INTEGER,          -- unix nanoseconds, NULL for unknown
	revoked    INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
) STRICT;
