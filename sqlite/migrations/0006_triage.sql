-- Triage: every detection group has a status (new, acknowledged,
-- resolved, false_positive; see cairn.Statuses) and may be assigned to an
-- analyst. assignee is NULL when unassigned, so that the filter's
-- "assignee exists" holds only for assigned groups, as for the other
-- nullable columns. Groups stored before this migration start new.
ALTER TABLE detections ADD COLUMN status TEXT NOT NULL DEFAULT 'new';
ALTER TABLE detections ADD COLUMN assignee TEXT;

-- The triage queue: a status's groups newest first by last_time.
CREATE INDEX detections_status ON detections (status, last_time);

-- The feed's facet counts (severity, status, age) read this index alone,
-- not the wide rows.
CREATE INDEX detections_facets ON detections (severity, status, last_time);

-- Detection comments: analysts' notes on a detection group, in the order
-- they were added (id). detection_id is the group's id (detections.id).
-- Comments are never changed or removed.
CREATE TABLE detection_comments (
	id           INTEGER PRIMARY KEY,
	detection_id TEXT    NOT NULL,
	time         INTEGER NOT NULL, -- unix nanoseconds
	author       TEXT    NOT NULL,
	text         TEXT    NOT NULL
) STRICT;

CREATE INDEX detection_comments_detection ON detection_comments (detection_id, id);
