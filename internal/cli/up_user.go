package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
)

// UserPasswordFile is where `wharf up` writes the password of the user it
// makes, next to the first admin token, mode 0600.
const UserPasswordFile = "user-password"

var upUserRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// upUserName is the user `wharf up` makes: the OS user's name, lowered and
// with what a Wharf user name cannot hold replaced; "admin" when nothing
// usable is left.
func upUserName() string {
	u, err := user.Current()
	if err != nil {
		return "admin"
	}
	n := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, u.Username)
	n = strings.TrimLeft(n, "-_")
	if len(n) > 63 {
		n = n[:63]
	}
	if !upUserRE.MatchString(n) {
		return "admin"
	}
	return n
}

// ensureUpUser makes the user of the person running `wharf up`, an owner
// of organization default (so a server administrator), with a random
// password written to <serverDir>/user-password (0600). A second run
// finds the file and changes nothing; a user whose file was lost gets a
// new password.
func ensureUpUser(ctx context.Context, c *client.Client, serverDir string) (name, pwFile string, err error) {
	name = upUserName()
	pwFile = filepath.Join(serverDir, UserPasswordFile)
	if b, err := os.ReadFile(pwFile); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return name, pwFile, nil
	}
	var raw [18]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", "", err
	}
	pw := base64.RawURLEncoding.EncodeToString(raw[:])
	if _, err := c.CreateUser(ctx, name, pw); err != nil {
		if !client.IsCode(err, api.CodeConflict) {
			return "", "", fmt.Errorf("make user %s: %w", name, err)
		}
		if err := c.SetPassword(ctx, name, pw); err != nil {
			return "", "", fmt.Errorf("set the password of user %s: %w", name, err)
		}
	}
	if _, err := c.AddMember(ctx, api.OwnersTeam, name); err != nil {
		return "", "", fmt.Errorf("make user %s an owner of organization default: %w", name, err)
	}
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		return "", "", errors.Join(fmt.Errorf("write %s", pwFile), err)
	}
	return name, pwFile, nil
}
