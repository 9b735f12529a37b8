package falco

import (
	"fmt"
	"strings"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// FieldError is returned when a condition uses fields cairn cannot supply
// (unknown to the catalog, or with a bad argument). Fields lists them as
// written, in order of first use.
type FieldError struct {
	Fields []string
	// Reasons holds the catalog's message for each field.
	Reasons []string
}

// Error names the fields.
func (e *FieldError) Error() string {
	return "fields not available in cairn: " + strings.Join(e.Fields, ", ") + " (" + strings.Join(e.Reasons, "; ") + ")"
}
