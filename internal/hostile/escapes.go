package hostile

// Terminal escape payloads an attacker puts in whatever an operator's
// terminal will print (a node's name or labels, a service's command, an
// error message), to clear the screen, retitle the window, hide text or
// reorder it. A safe printer shows none of them raw.
const (
	ClearScreen    = "\x1b[2J\x1b[H"        // ESC [2J: clear the screen, cursor home
	Retitle        = "\x1b]0;pwned\x07"     // OSC 0: set the window title
	C1ClearScreen  = "\u009b2J"             // CSI as one C1 character
	CarriageReturn = "ok\rFAKE"             // hide "ok" behind "FAKE"
	BidiOverride   = "\u202etxt.exe"        // show "exe.txt"
	NewlineForgery = "x\nn-forged  Ready  " // a forged table row
)

// Payloads is every payload, for tests that try them all.
var Payloads = []string{ClearScreen, Retitle, C1ClearScreen, CarriageReturn, BidiOverride, NewlineForgery}

// Raw reports whether s holds a control character a terminal acts on (C0
// other than tab and newline, DEL, C1, a bidi control), that is, whether
// a payload got through unescaped. keepNewlines allows \n (multi-line
// output); tabs are always allowed.
func Raw(s string, keepNewlines bool) bool {
	for _, r := range s {
		switch {
		case r == '\t', r == '\n' && keepNewlines:
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f,
			r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return true
		}
	}
	return false
}
