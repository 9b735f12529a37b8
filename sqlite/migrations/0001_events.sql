-- Events: one row per normalized event. seq orders rows by insertion and
-- breaks ties between equal times, so that paging is stable. The text
-- columns after type copy the fields the feed and the lookups use most,
-- each exactly as field.Flatten gives it (NULL when the event lacks it);
-- every other field is read from the fields JSON.
CREATE TABLE events (
	seq            INTEGER PRIMARY KEY,
	id             TEXT    NOT NULL UNIQUE,
	time           INTEGER NOT NULL, -- unix nanoseconds
	source         TEXT    NOT NULL,
	kind           TEXT    NOT NULL,
	type           TEXT,
	host           TEXT,
	exec_id        TEXT,
	parent_exec_id TEXT,
	container_id   TEXT,
	k8s_cluster    TEXT,
	k8s_ns         TEXT,
	k8s_pod        TEXT,
	identity       TEXT,
	ct_name        TEXT,
	fields         TEXT    NOT NULL, -- JSON object of field.Flatten
	raw            BLOB    NOT NULL  -- the original record; events are rebuilt from it
) STRICT;

-- The rowid (seq) ends every index, so an index on (x, time) also orders
-- by (time, seq) and serves the feed newest first in both directions.
CREATE INDEX events_time ON events (time);
CREATE INDEX events_exec_id ON events (exec_id, time) WHERE exec_id IS NOT NULL;
CREATE INDEX events_parent_exec_id ON events (parent_exec_id, time) WHERE parent_exec_id IS NOT NULL;
CREATE INDEX events_container ON events (container_id, time) WHERE container_id IS NOT NULL;
CREATE INDEX events_k8s_cluster ON events (k8s_cluster, time) WHERE k8s_cluster IS NOT NULL;
CREATE INDEX events_k8s_ns ON events (k8s_ns, time) WHERE k8s_ns IS NOT NULL;
CREATE INDEX events_k8s_pod ON events (k8s_pod, time) WHERE k8s_pod IS NOT NULL;
CREATE INDEX events_identity ON events (identity, time) WHERE identity IS NOT NULL;
CREATE INDEX events_ct_name ON events (ct_name, time) WHERE ct_name IS NOT NULL;

-- Event counts by source and kind, kept up to date by every write so that
-- Stats does not scan the events table.
CREATE TABLE event_counts (
	source TEXT    NOT NULL,
	kind   TEXT    NOT NULL,
	n      INTEGER NOT NULL,
	PRIMARY KEY (source, kind)
) STRICT, WITHOUT ROWID;

-- Dead letters: records that could not be decoded. id hashes origin,
-- position and raw, so re-ingesting the same input adds nothing.
CREATE TABLE dead_letters (
	seq      INTEGER PRIMARY KEY,
	id       TEXT    NOT NULL UNIQUE,
	time     INTEGER NOT NULL, -- unix nanoseconds
	origin   TEXT    NOT NULL,
	position TEXT    NOT NULL,
	format   TEXT    NOT NULL,
	reason   TEXT    NOT NULL,
	raw      BLOB    NOT NULL
) STRICT;

CREATE INDEX dead_letters_time ON dead_letters (time);
