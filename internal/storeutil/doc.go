// Package storeutil holds the logic the SQLite and PostgreSQL stores share
// that does not depend on the SQL dialect: how process nodes merge, which
// fields have columns of their own, the page cursor, the fields JSON, the
// ids of detection groups and dead letters, the checks and audit details
// of exceptions, and the listing of embedded migrations.
//
// SQL text stays in each store; what is here is plain Go, so that both
// stores give the same answers to the conformance suite for the same
// reasons.
package storeutil
