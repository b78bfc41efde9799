package install

import (
	"encoding/pem"
	"fmt"
	"strings"
)

// Command is the one line that installs the agent on a new host: the
// cluster CA, inline, is piped into curl as its only trust anchor, so curl
// fetches SERVER/install.sh only from a server whose certificate that CA
// signed, and sh runs nothing when it does not (a fake server gets no
// request, so never the token, which is only an argument of the local sh).
//
//	printf '%s\n' '-----BEGIN CERTIFICATE-----' 'MIIB…' '-----END CERTIFICATE-----' | curl -q -fsS --cacert /dev/stdin --capath /dev/null https://SERVER/install.sh | sudo sh -s -- --token TOKEN
//
// Why each part: the CA, not the server's key, is pinned, because every
// server certificate the cluster CA issues (a renewal, a new host name, the
// next server behind a load balancer) has a key of its own; the PEM goes
// out in 64-character lines, which every PEM reader accepts; printf and
// pipes work alike in sh, dash, bash, zsh and fish; -q skips ~/.curlrc, where
// an "insecure" line would turn the check off; --capath /dev/null stops curl
// from also trusting the system's CAs, which Debian's curl does next to
// --cacert. caPEM is the cluster CA certificate; serverURL is the API URL.
func Command(serverURL string, caPEM []byte, token string) string {
	args := []string{"printf", `'%s\n'`}
	if block, _ := pem.Decode(caPEM); block != nil {
		body := strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: block.Bytes})))
		for _, line := range strings.Split(body, "\n") {
			args = append(args, "'"+line+"'") // base64 and dashes: nothing to escape
		}
	}
	url := strings.TrimSuffix(serverURL, "/") + "/install.sh"
	return fmt.Sprintf("%s | curl -q -fsS --cacert /dev/stdin --capath /dev/null %s | sudo sh -s -- --token %s",
		strings.Join(args, " "), shellQuote(url), shellQuote(token))
}

// shellQuote quotes s for any POSIX shell: as is when it holds only
// characters no shell treats specially, else in single quotes.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:") == "" &&
		!strings.HasPrefix(s, "-") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
