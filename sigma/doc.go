// Package sigma loads Sigma rules (https://sigmahq.io, specification 2.1)
// and evaluates them on cairn events.
//
// Load reads rule files (several YAML documents each), compiles every
// detection rule once into closures, and reports the rules cairn cannot
// evaluate in Skipped with the reason: a logsource cairn has no events
// for, fields it cannot supply (named, see FieldError), a malformed
// detection or condition. Correlation rules are parsed into
// CorrelationDef and left to the correlation engine.
//
// # Logsources
//
// product linux (or no product) with category process_creation (execve
// events), file_event (file events) or network_connection (connect and
// accept); product aws with service cloudtrail (CloudTrail records).
// Linux fields come from the catalog through one table, LinuxFields;
// CloudTrail fields are the record's own keys joined with dots, read from
// the parsed record (Event.Doc).
//
// # Matching
//
// Values compare case-insensitively unless cased; * and ? are wildcards,
// escaped with a backslash. A list of values is OR (AND with all), a map
// is AND, a list of maps OR. A value matches a list in the event (an
// array of the record) when it matches any element. null matches an
// absent field or a JSON null; the empty string an empty value (and, for catalog
// fields, which report empty as absent, an absent one). Objects of a
// record match as their JSON text with strings unescaped (see jsonText).
// Numbers match equal numbers or the same text.
//
// Every modifier of the appendix is supported: contains, startswith,
// endswith, all, cased, exists, neq, windash, re (with i, m, s), base64,
// base64offset, utf16le, utf16be, utf16, wide, lt, lte, gt, gte, minute,
// hour, day, week, month, year (of a time field, in UTC), cidr, expand
// (with Options.Placeholders; a rule naming a placeholder without values
// is skipped) and fieldref. neq means: the field is present and matches
// none of the values. Encoded values (base64...) compare byte for byte.
// Regular expressions use Go's RE2 syntax, which covers the appendix's
// subset; an expression RE2 rejects (look-around, back-references) skips
// the rule.
//
// Keywords (a list of plain values) search the event: for linux the
// mapped string fields (command line, image, parent's, paths, addresses),
// for CloudTrail the raw record text, each keyword as if with contains.
//
// Conditions support and, or, not, parentheses, "1 of", "any of", "N of"
// and "all of" a pattern or them (which leaves out identifiers starting
// with _), with the specification's precedence; a list of conditions is
// OR. Aggregations (| count() ...) are not supported.
//
// # Evaluation
//
// NewEngine indexes rules by logsource and CloudTrail rules by the
// eventName values their condition requires; Eval returns the rules an
// event triggers, reading each linux field once per event whatever the
// number of rules. Rule.Value and Rule.Fields give an event's values by
// Sigma field name, for correlations that group matches.
package sigma
