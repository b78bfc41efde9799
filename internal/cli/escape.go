package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// What the CLI prints comes largely from the server, and through it from
// anyone who could name a node, label a service or write a command: it must
// not drive the terminal (clear the screen, move the cursor, retitle the
// window, hide text behind a carriage return or a bidi override). Every
// printer goes through escape: control characters come out as visible
// escapes, such as \x1b.

// mustEscape reports whether r is a control character a terminal could
// act on: C0 controls, DEL, C1 controls (U+0080-U+009F, which some
// terminals read as ESC sequences), the bidi overrides and isolates, and
// the line and paragraph separators. keep lists the ones allowed through.
func mustEscape(r rune, keep string) bool {
	switch {
	case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f:
		return !strings.ContainsRune(keep, r)
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069,
		r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// escape returns s with the control characters it must not print as
// visible escapes: \t, \n and \r by name, other ASCII controls and bytes
// that are not UTF-8 as \xHH, the others as \uHHHH. keep lists controls
// passed through as they are ("" for a table cell or a one-line message;
// "\t\n" for multi-line text).
func escape(s, keep string) string {
	clean := true
	for i, r := range s {
		if mustEscape(r, keep) || r == utf8.RuneError && isBadByte(s, i) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && isBadByte(s, i):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !mustEscape(r, keep):
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// isBadByte reports whether s[i:] starts with a byte that is not UTF-8.
func isBadByte(s string, i int) bool {
	r, size := utf8.DecodeRuneInString(s[i:])
	return r == utf8.RuneError && size <= 1
}

// cell escapes a value printed on one line: a table cell, a name in a
// message. Tabs and newlines are escaped too, so that a value cannot break
// the table's columns or forge a line.
func cell(s string) string { return escape(s, "") }

// escapeJSON makes encoded JSON safe to print: encoding/json escapes C0
// controls but not DEL, C1 or bidi controls, which it leaves raw inside
// strings; they become \u escapes, which JSON reads back as the same text.
func escapeJSON(b []byte) []byte {
	s := string(b)
	if escape(s, "\t\n\r") == s {
		return b
	}
	var out strings.Builder
	for _, r := range s {
		if r != utf8.RuneError && mustEscape(r, "\t\n\r") {
			fmt.Fprintf(&out, `\u%04x`, r)
			continue
		}
		out.WriteRune(r)
	}
	return []byte(out.String())
}

// say prints a message line to w, every argument escaped as a cell: the
// format is the CLI's own text, the arguments are data.
func say(w io.Writer, format string, args ...any) error {
	for i, a := range args {
		switch v := a.(type) {
		case string:
			args[i] = cell(v)
		case error:
			args[i] = cell(v.Error())
		case fmt.Stringer:
			args[i] = cell(v.String())
		}
	}
	_, err := fmt.Fprintf(w, format, args...)
	return err
}

// payloadWriter is where a stream of a workload's own bytes goes (logs,
// exec output): as they are with raw, or when w is not a terminal (a file,
// a pipe: the bytes are kept exactly); otherwise through an escaper that
// keeps tabs and newlines, so that a workload (or whoever fed it input)
// cannot drive the operator's terminal.
func payloadWriter(w io.Writer, raw bool) io.Writer {
	if raw || !isTerminal(w) {
		return w
	}
	return &escapeWriter{w: w}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// escapeWriter escapes what it writes, keeping tabs and newlines. A UTF-8
// sequence cut between two writes is held until the next.
type escapeWriter struct {
	w       io.Writer
	pending []byte
}

func (e *escapeWriter) Write(p []byte) (int, error) {
	buf := append(e.pending, p...)
	// Hold back an incomplete rune at the end (at most 3 bytes).
	cut := len(buf)
	for i := len(buf) - 1; i >= 0 && i >= len(buf)-3; i-- {
		if utf8.RuneStart(buf[i]) {
			if !utf8.FullRune(buf[i:]) {
				cut = i
			}
			break
		}
	}
	e.pending = append([]byte(nil), buf[cut:]...)
	if _, err := io.WriteString(e.w, escape(string(buf[:cut]), "\t\n")); err != nil {
		return 0, err
	}
	return len(p), nil
}
