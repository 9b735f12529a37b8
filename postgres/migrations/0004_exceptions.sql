-- Exceptions: what suppresses a rule's future detections, in Falco's
-- exception syntax. seq orders exceptions created at the same time by
-- insertion. fields and comps are JSON arrays of strings, one per field;
-- vals is a JSON array of tuples, each a JSON array with one value per
-- field. expires is NULL for an exception that never expires; detection
-- is the detection it was made from, NULL for none.
CREATE TABLE exceptions (
	seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id        text   COLLATE "C" NOT NULL UNIQUE,
	rule      text   COLLATE "C" NOT NULL,
	name      text   NOT NULL,
	fields    text   NOT NULL, -- JSON array
	comps     text   NOT NULL, -- JSON array
	vals      text   NOT NULL, -- JSON array of JSON arrays
	note      text   NOT NULL,
	author    text   NOT NULL,
	created   bigint NOT NULL, -- unix nanoseconds
	expires   bigint,          -- unix nanoseconds, NULL for never
	detection text
);

CREATE INDEX exceptions_created ON exceptions (created, seq);

-- Audit: the append-only log of changes people make. seq comes from the
-- identity and orders the log; detail is a JSON object, NULL when there is
-- none.
CREATE TABLE audit (
	seq    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY CHECK (seq > 0),
	time   bigint NOT NULL, -- unix nanoseconds
	actor  text   NOT NULL,
	action text   NOT NULL,
	object text   NOT NULL,
	detail text             -- JSON object
);

-- The database itself refuses to change or remove an audit entry, whoever
-- writes to it through SQL (a superuser can still drop the triggers).
-- Besides UPDATE, DELETE and TRUNCATE, an INSERT whose seq is not the one
-- the identity just gave (OVERRIDING SYSTEM VALUE, to fill a gap left by
-- a rolled-back append) is refused: it would rewrite history.
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'the audit log is append-only: entries cannot be %', lower(TG_OP)
		USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE FUNCTION audit_check_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	last bigint;
BEGIN
	BEGIN
		last := currval(pg_get_serial_sequence(quote_ident(TG_TABLE_SCHEMA) || '.' || quote_ident(TG_TABLE_NAME), 'seq'));
	EXCEPTION WHEN object_not_in_prerequisite_state THEN
		last := NULL; -- the identity gave this session nothing yet
	END;
	IF last IS DISTINCT FROM NEW.seq THEN
		RAISE EXCEPTION 'the audit log is append-only: entries cannot be replaced or inserted before the last'
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
	FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
	FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
	FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_rewrite BEFORE INSERT ON audit
	FOR EACH ROW EXECUTE FUNCTION audit_check_insert();
