-- Events: one row per normalized event. seq orders rows by insertion and
-- breaks ties between equal times, so that paging is stable; a write
-- reserves its batch's seqs in the batch's order. Times are unix
-- nanoseconds (timestamptz keeps only microseconds).
--
-- Text columns hold text as PostgreSQL can: invalid UTF-8 and NUL, which
-- a text value cannot hold, become U+FFFD, in the columns, in the fields
-- JSON and in the filters' values alike. The hot text columns after kind
-- copy the fields the feed and the lookups use most, each as
-- field.Flatten gives it (NULL when the event lacks it); every other field
-- is read from fields. COLLATE "C" compares bytewise, as the filter
-- language does in memory.
--
-- The record is kept byte for byte: raw_json holds it when it is valid
-- JSON (for json.value filters), with the same replacements; raw holds it
-- only when raw_json cannot give back its exact bytes. exact keeps the
-- source, kind, type and host as JSON when a text column could not hold
-- them exactly; an event whose record no longer decodes is rebuilt from
-- them.
CREATE SEQUENCE events_seq AS bigint;

CREATE TABLE events (
	seq            bigint  PRIMARY KEY DEFAULT nextval('events_seq'),
	id             bytea   NOT NULL UNIQUE,
	time           bigint  NOT NULL,
	source         text    COLLATE "C" NOT NULL,
	kind           text    COLLATE "C" NOT NULL,
	type           text    COLLATE "C",
	host           text    COLLATE "C",
	exec_id        text    COLLATE "C",
	parent_exec_id text    COLLATE "C",
	container_id   text    COLLATE "C",
	k8s_cluster    text    COLLATE "C",
	k8s_ns         text    COLLATE "C",
	k8s_pod        text    COLLATE "C",
	identity       text    COLLATE "C",
	ct_name        text    COLLATE "C",
	fields         jsonb   NOT NULL,
	raw_json       text    COLLATE "C",
	raw            bytea,
	exact          text,
	CHECK (raw_json IS NOT NULL OR raw IS NOT NULL)
);

ALTER SEQUENCE events_seq OWNED BY events.seq;

-- seq ends every index, so an index on (x, time, seq) serves the feed in
-- (time, seq) order in both directions.
CREATE INDEX events_time ON events (time, seq);
CREATE INDEX events_exec_id ON events (exec_id, time, seq) WHERE exec_id IS NOT NULL;
CREATE INDEX events_parent_exec_id ON events (parent_exec_id, time, seq) WHERE parent_exec_id IS NOT NULL;
CREATE INDEX events_container ON events (container_id, time, seq) WHERE container_id IS NOT NULL;
CREATE INDEX events_k8s_cluster ON events (k8s_cluster, time, seq) WHERE k8s_cluster IS NOT NULL;
CREATE INDEX events_k8s_ns ON events (k8s_ns, time, seq) WHERE k8s_ns IS NOT NULL;
CREATE INDEX events_k8s_pod ON events (k8s_pod, time, seq) WHERE k8s_pod IS NOT NULL;
CREATE INDEX events_identity ON events (identity, time, seq) WHERE identity IS NOT NULL;
CREATE INDEX events_ct_name ON events (ct_name, time, seq) WHERE ct_name IS NOT NULL;

-- Event counts by source and kind, kept up to date by every write so that
-- Stats does not scan the events table.
CREATE TABLE event_counts (
	source text   COLLATE "C" NOT NULL,
	kind   text   COLLATE "C" NOT NULL,
	n      bigint NOT NULL,
	PRIMARY KEY (source, kind)
);

-- Dead letters: records that could not be decoded. id hashes origin,
-- position and raw, so re-ingesting the same input adds nothing.
CREATE TABLE dead_letters (
	seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id       text   COLLATE "C" NOT NULL UNIQUE,
	time     bigint NOT NULL,
	origin   text   NOT NULL,
	position text   NOT NULL,
	format   text   NOT NULL,
	reason   text   NOT NULL,
	raw      bytea  NOT NULL
);

CREATE INDEX dead_letters_time ON dead_letters (time, seq);
