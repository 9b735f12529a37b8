-- API tokens: who may use cairn serve's API, and with which role. hash is
-- the hex SHA-256 of the bearer secret, which is never stored. Revoked
-- tokens are kept (revoked = true), so that a name or secret is never
-- reused. seq orders tokens created at the same time by insertion;
-- last_used is NULL while unknown.
CREATE TABLE api_tokens (
	seq        bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name       text    COLLATE "C" NOT NULL UNIQUE,
	role       text    NOT NULL,
	hash       text    COLLATE "C" NOT NULL UNIQUE,
	created    bigint  NOT NULL, -- unix nanoseconds
	created_by text    NOT NULL,
	last_used  bigint,           -- unix nanoseconds, NULL for unknown
	revoked    boolean NOT NULL DEFAULT false
);
