-- Exceptions: what suppresses a rule's future detections, in Falco's
-- exception syntax. seq orders exceptions created at the same time by
-- insertion. fields and comps are JSON arrays of strings, one per field;
-- values is a JSON array of tuples, each a JSON array with one value per
-- field. expires is NULL for an exception that never expires; detection
-- is the detection it was made from, NULL for none.
CREATE TABLE exceptions (
	seq       INTEGER PRIMARY KEY,
	id        TEXT    NOT NULL UNIQUE,
	rule      TEXT    NOT NULL,
	name      TEXT    NOT NULL,
	fields    TEXT    NOT NULL, -- JSON array
	comps     TEXT    NOT NULL, -- JSON array
	vals      TEXT    NOT NULL, -- JSON array of JSON arrays
	note      TEXT    NOT NULL,
	author    TEXT    NOT NULL,
	created   INTEGER NOT NULL, -- unix nanoseconds
	expires   INTEGER,          -- unix nanoseconds, NULL for never
	detection TEXT
) STRICT;

-- Audit: the append-only log of changes people make. seq is assigned by
-- AUTOINCREMENT, so it is never reused and orders the log; detail is a
-- JSON object, NULL when there is none.
CREATE TABLE audit (
	seq    INTEGER PRIMARY KEY AUTOINCREMENT CHECK (seq > 0),
	time   INTEGER NOT NULL, -- unix nanoseconds
	actor  TEXT    NOT NULL,
	action TEXT    NOT NULL,
	object TEXT    NOT NULL,
	detail TEXT              -- JSON object
) STRICT;

-- The database itself refuses to change or remove an audit entry, whoever
-- writes to it through SQL (the file itself is not protected). Besides
-- UPDATE and DELETE, an INSERT that names the seq of an entry, as INSERT
-- OR REPLACE does, or one below the last is refused: REPLACE deletes
-- without firing delete triggers, and a lower seq would rewrite history.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be updated');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be deleted');
END;

CREATE TRIGGER audit_no_rewrite BEFORE INSERT ON audit
WHEN NEW.seq > 0 AND NEW.seq <= (SELECT max(seq) FROM audit)
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be replaced or inserted before the last');
END;
