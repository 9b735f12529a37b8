-- Processes: one row per execution (cairn.ProcessNode), keyed by its exec
-- id or host, pid and start time. Keys and the other identifying text are
-- bytes (as encoding/json writes the text: invalid UTF-8 replaced), so
-- that a key with a NUL comes back as it was. doc holds the rest of the
-- node as JSON (process, container, k8s). Unknown values are NULL: a root
-- has no parent_key. seq orders children started at the same time by
-- insertion; an update keeps it.
CREATE TABLE processes (
	key          bytea   PRIMARY KEY,
	seq          bigint  GENERATED ALWAYS AS IDENTITY,
	parent_key   bytea,
	host         bytea,
	pid          bigint,
	start_time   bigint, -- unix nanoseconds
	exit_time    bigint, -- unix nanoseconds
	last_seen    bigint, -- unix nanoseconds
	flags        integer NOT NULL,
	event_id     bytea,
	container_id bytea,
	doc          text    NOT NULL -- JSON object: process, container, k8s
);

-- Children, oldest first: by start time, unknown start times last, then by
-- insertion.
CREATE INDEX processes_children ON processes (parent_key, coalesce(start_time, 9223372036854775807), seq)
	WHERE parent_key IS NOT NULL;
