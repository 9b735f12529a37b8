-- Detections: one row per group of identical detections (same rule,
-- output and entities). id hashes the group; time is the first
-- detection's, last_time the latest's and count how many the group
-- holds. The entity columns copy Detection.Entities for pivoting (NULL
-- when empty); fields is the JSON object the filter language reads: the
-- first triggering event's field.Flatten plus the detection's own fields
-- (severity, rule.name, rule.tags, mitre.tactic, mitre.technique).
CREATE TABLE detections (
	seq          INTEGER PRIMARY KEY,
	id           TEXT    NOT NULL UNIQUE,
	time         INTEGER NOT NULL, -- unix nanoseconds
	last_time    INTEGER NOT NULL, -- unix nanoseconds
	count        INTEGER NOT NULL,
	rule         TEXT    NOT NULL,
	source       TEXT    NOT NULL,
	priority     TEXT    NOT NULL,
	severity     INTEGER NOT NULL, -- rank on field.SeverityRank's scale
	output       TEXT    NOT NULL,
	tags         TEXT    NOT NULL, -- JSON array
	tactics      TEXT    NOT NULL, -- JSON array of ATT&CK ids
	techniques   TEXT    NOT NULL, -- JSON array of ATT&CK ids
	event_ids    TEXT    NOT NULL, -- JSON array, oldest first, at most 100
	exec_id      TEXT,
	container_id TEXT,
	image        TEXT,
	pod          TEXT,
	namespace    TEXT,
	cluster      TEXT,
	host         TEXT,
	identity     TEXT,
	fields       TEXT    NOT NULL -- JSON object for the filter language
) STRICT;

-- Detections are listed newest first by last_time; the rowid (seq) ends
-- every index and breaks ties.
CREATE INDEX detections_time ON detections (time);
CREATE INDEX detections_last_time ON detections (last_time);
CREATE INDEX detections_rule ON detections (rule, last_time);
CREATE INDEX detections_severity ON detections (severity, last_time);
CREATE INDEX detections_exec_id ON detections (exec_id, last_time) WHERE exec_id IS NOT NULL;
CREATE INDEX detections_container ON detections (container_id, last_time) WHERE container_id IS NOT NULL;
CREATE INDEX detections_pod ON detections (pod, last_time) WHERE pod IS NOT NULL;
CREATE INDEX detections_namespace ON detections (namespace, last_time) WHERE namespace IS NOT NULL;
CREATE INDEX detections_cluster ON detections (cluster, last_time) WHERE cluster IS NOT NULL;
CREATE INDEX detections_host ON detections (host, last_time) WHERE host IS NOT NULL;
CREATE INDEX detections_identity ON detections (identity, last_time) WHERE identity IS NOT NULL;

-- Detection hits: every detection written, by its own id, so that writing
-- the same detection again changes nothing. group_id is the detections
-- row it counts in.
CREATE TABLE detection_hits (
	id        TEXT    PRIMARY KEY,
	group_id  TEXT    NOT NULL,
	time      INTEGER NOT NULL, -- unix nanoseconds
	event_ids TEXT    NOT NULL  -- JSON array
) STRICT, WITHOUT ROWID;

CREATE INDEX detection_hits_group ON detection_hits (group_id);
