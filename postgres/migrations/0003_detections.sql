-- Detections: one row per group of identical detections (same rule,
-- output and entities). id hashes the group; time is the first
-- detection's, last_time the latest's and count how many the group
-- holds. The entity columns copy Detection.Entities for pivoting (NULL
-- when empty); fields is the JSON object the filter language reads: the
-- first triggering event's field.Flatten plus the detection's own fields
-- (severity, rule.name, rule.tags, mitre.tactic, mitre.technique). The
-- lists are JSON text (not jsonb, which cannot hold \u0000).
CREATE TABLE detections (
	seq          bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id           text    COLLATE "C" NOT NULL UNIQUE,
	time         bigint  NOT NULL, -- unix nanoseconds
	last_time    bigint  NOT NULL, -- unix nanoseconds
	count        bigint  NOT NULL,
	rule         text    COLLATE "C" NOT NULL,
	source       text    NOT NULL,
	priority     text    NOT NULL,
	severity     bigint  NOT NULL, -- rank on field.SeverityRank's scale
	output       text    NOT NULL,
	tags         text    NOT NULL, -- JSON array
	tactics      text    NOT NULL, -- JSON array of ATT&CK ids
	techniques   text    NOT NULL, -- JSON array of ATT&CK ids
	event_ids    text    NOT NULL, -- JSON array, oldest first, at most 100
	exec_id      text    COLLATE "C",
	container_id text    COLLATE "C",
	image        text    COLLATE "C",
	pod          text    COLLATE "C",
	namespace    text    COLLATE "C",
	cluster      text    COLLATE "C",
	host         text    COLLATE "C",
	identity     text    COLLATE "C",
	fields       jsonb   NOT NULL
);

-- Detections are listed newest first by last_time, then seq.
CREATE INDEX detections_time ON detections (time, seq);
CREATE INDEX detections_last_time ON detections (last_time, seq);
CREATE INDEX detections_rule ON detections (rule, last_time, seq);
CREATE INDEX detections_severity ON detections (severity, last_time, seq);
CREATE INDEX detections_exec_id ON detections (exec_id, last_time, seq) WHERE exec_id IS NOT NULL;
CREATE INDEX detections_container ON detections (container_id, last_time, seq) WHERE container_id IS NOT NULL;
CREATE INDEX detections_pod ON detections (pod, last_time, seq) WHERE pod IS NOT NULL;
CREATE INDEX detections_namespace ON detections (namespace, last_time, seq) WHERE namespace IS NOT NULL;
CREATE INDEX detections_cluster ON detections (cluster, last_time, seq) WHERE cluster IS NOT NULL;
CREATE INDEX detections_host ON detections (host, last_time, seq) WHERE host IS NOT NULL;
CREATE INDEX detections_identity ON detections (identity, last_time, seq) WHERE identity IS NOT NULL;

-- Detection hits: every detection written, by its own id, so that writing
-- the same detection again changes nothing. group_id is the detections
-- row it counts in.
CREATE TABLE detection_hits (
	id        text   COLLATE "C" PRIMARY KEY,
	group_id  text   COLLATE "C" NOT NULL,
	time      bigint NOT NULL, -- unix nanoseconds
	event_ids text   NOT NULL  -- JSON array
);

CREATE INDEX detection_hits_group ON detection_hits (group_id, time, id);
