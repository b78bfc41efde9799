package agent

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// readTokenFile reads a join token kept in a file (surrounding white space
// is dropped). The token is only as secret as the file: the install script
// writes it with mode 0600.
func readTokenFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("%s is empty: it should hold the join token from `wharf node join-token`", path)
	}
	return tok, nil
}

// forgetJoinToken drops the join token once the agent has a node identity:
// it deletes JoinTokenFile and calls Joined. Failing to is logged, not fatal:
// the node works, and the token dies with its TTL.
func (a *Agent) forgetJoinToken() {
	a.cfg.JoinToken = ""
	if f := a.cfg.JoinTokenFile; f != "" {
		if err := os.Remove(f); err == nil {
			a.log.Info("joined: deleted the join token file; the node certificate is all the agent needs now", "file", f)
		} else if !errors.Is(err, os.ErrNotExist) {
			a.log.Warn("cannot delete the join token file; delete it by hand, the agent no longer needs it", "file", f, "err", err)
		}
	}
	if a.cfg.Joined != nil {
		a.cfg.Joined()
	}
}
