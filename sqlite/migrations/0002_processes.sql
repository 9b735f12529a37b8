-- Processes: one row per execution (cairn.ProcessNode), keyed by its exec
-- id or host, pid and start time. The columns copy what lookups and
-- ordering use; doc holds the rest of the node as JSON (process,
-- container, k8s). Unknown values are NULL: a root has no parent_key.
-- Lineage walks parent_key through the primary key, one seek per level.
CREATE TABLE processes (
	key          TEXT    PRIMARY KEY,
	parent_key   TEXT,
	host         TEXT,
	pid          INTEGER,
	start_time   INTEGER, -- unix nanoseconds
	exit_time    INTEGER, -- unix nanoseconds
	last_seen    INTEGER, -- unix nanoseconds
	flags        INTEGER NOT NULL,
	event_id     TEXT,
	container_id TEXT,
	doc          TEXT    NOT NULL -- JSON object: process, container, k8s
) STRICT;

-- Children, oldest first: the index orders a parent's children by start
-- time, unknown start times last, then by insertion (the rowid).
CREATE INDEX processes_children ON processes (parent_key, ifnull(start_time, 9223372036854775807))
	WHERE parent_key IS NOT NULL;
