package remediate

import "strings"

// ShellQuote returns s as one POSIX shell word that the shell takes
// literally: inside single quotes nothing is special, and a single quote
// is written as '\” (close, escaped quote, reopen). It is the same rule
// as the assistant's remediation text uses, exported so that both can
// share it.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// cmdline builds one AWS CLI command: the command words are written as
// they are (they are constants of this package), every value is quoted.
type cmdline struct{ b strings.Builder }

func awsIAM(sub string) *cmdline {
	c := &cmdline{}
	c.b.WriteString("aws iam " + sub)
	return c
}

// opt adds "--name 'value'".
func (c *cmdline) opt(name, value string) *cmdline {
	c.b.WriteString(" --" + name + " " + ShellQuote(value))
	return c
}

// raw adds text that is already a valid shell fragment: a switch such as
// --password-reset-required or a loop variable such as "$id".
func (c *cmdline) raw(s string) *cmdline {
	c.b.WriteString(" " + s)
	return c
}

func (c *cmdline) String() string { return c.b.String() }

// capture writes a list command that keeps the values it prints (its
// --query selecting one field, as text) in the shell variable name, and
// shows them.
func capture(name string, list *cmdline, query string) string {
	list.opt("query", query).raw("--output text")
	return name + "=$(" + list.String() + "); echo \"" + name + ": $" + name + "\""
}

// loop runs body once for each value kept in the shell variable name by
// capture, with the value in "$id". The values are IAM ids, names and
// ARNs, which hold no blank or glob character.
func loop(name string, body *cmdline) string {
	return "for id in $" + name + "; do " + body.String() + "; done"
}
