-- Identity status: an analyst's verdict on a cloud identity
-- (cloud.identity), one row an identity, replaced by each new verdict
-- (the audit log keeps the history). state is potentially_compromised,
-- compromised or cleared (see cairn.IdentityStatus); since is when the
-- compromise began, NULL when unknown or cleared; evidence is a JSON
-- array of detection ids ('[]' for none). Identities sort by their bytes
-- (COLLATE "C"), as in SQLite.
CREATE TABLE identity_status (
	identity text   COLLATE "C" PRIMARY KEY,
	state    text   NOT NULL,
	since    bigint,           -- unix nanoseconds, NULL when unknown
	evidence text   NOT NULL DEFAULT '[]',
	by_actor text   NOT NULL,
	at       bigint NOT NULL,  -- unix nanoseconds
	note     text   NOT NULL DEFAULT ''
);
