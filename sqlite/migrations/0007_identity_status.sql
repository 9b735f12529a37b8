-- Identity status: an analyst's verdict on a cloud identity
-- (cloud.identity), one row an identity, replaced by each new verdict
-- (the audit log keeps the history). state is potentially_compromised,
-- compromised or cleared (see cairn.IdentityStatus); since is when the
-- compromise began, NULL when unknown or cleared; evidence is a JSON
-- array of detection ids ('[]' for none).
CREATE TABLE identity_status (
	identity TEXT    PRIMARY KEY,
	state    TEXT    NOT NULL,
	since    INTEGER,          -- unix nanoseconds, NULL when unknown
	evidence TEXT    NOT NULL DEFAULT '[]',
	by_actor TEXT    NOT NULL,
	at       INTEGER NOT NULL, -- unix nanoseconds
	note     TEXT    NOT NULL DEFAULT ''
) STRICT;
