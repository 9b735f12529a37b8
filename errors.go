package cairn

import (
	"errors"
	"fmt"
)

// Error codes shown to users. One table (the API's) maps them to HTTP
// statuses; the CLI maps them to exit codes.
const (
	EINVALID  = "invalid"   // the request or input is malformed
	ENOTFOUND = "not_found" // the thing asked for does not exist
	ECONFLICT = "conflict"  // the request conflicts with what is stored
	EINTERNAL = "internal"  // a failure the user cannot fix
	// EUNAVAILABLE is a temporary overload: the bus or the store is full
	// or slow. Trying again later may succeed.
	EUNAVAILABLE = "unavailable"
)

// Error is a user-facing error with a code.
type Error struct {
	Code    string
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err's first *Error, EINTERNAL for other
// non-nil errors, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of err's first *Error, or a generic
// text for internal errors, whose details are logged and never shown.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
