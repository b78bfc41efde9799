package domain

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

func TestBootstrap(t *testing.T) {
	st := newTestDomain(t).Store()
	dir := filepath.Join(t.TempDir(), "data")
	secret, created, err := Bootstrap(t.Context(), st, dir)
	if err != nil || !created || !strings.HasPrefix(secret, "wharf_") || len(secret) != len("wharf_")+52 {
		t.Fatalf("first Bootstrap: %q %v %v", secret, created, err)
	}
	path := filepath.Join(dir, "admin-token")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	b, _ := os.ReadFile(path)
	if strings.TrimSpace(string(b)) != secret {
		t.Fatal("file does not hold the secret")
	}
	toks, _, err := store.ListAll[records.Token](t.Context(), st, store.KindTokens)
	if err != nil || len(toks) != 1 || !toks[0].Admin || toks[0].Hash != pki.HashSecret(secret) || strings.Contains(string(b), toks[0].Hash) {
		t.Fatalf("stored tokens: %+v %v", toks, err)
	}

	again, created, err := Bootstrap(t.Context(), st, dir)
	if err != nil || created || again != secret {
		t.Fatalf("second Bootstrap: %q %v %v", again, created, err)
	}
	if toks, _, _ := store.ListAll[records.Token](t.Context(), st, store.KindTokens); len(toks) != 1 {
		t.Fatalf("%d tokens after the second Bootstrap", len(toks))
	}
	// Another server's data dir, without the file: no secret, no new token.
	other, created, err := Bootstrap(t.Context(), st, t.TempDir())
	if err != nil || created || other != "" {
		t.Fatalf("Bootstrap elsewhere: %q %v %v", other, created, err)
	}
}

func TestTokensRefuseWithoutPermission(t *testing.T) {
	d := newTestDomain(t)
	ctx := context.Background()
	if _, _, err := Bootstrap(ctx, d.st, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateJoinToken(ctx, admin, api.JoinTokenRequest{}); err == nil {
		t.Fatal("a join token without a CA digest")
	}
	d.cfg.CADigest = "0123abcd"
	jt, err := d.CreateJoinToken(ctx, admin, api.JoinTokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	toks, _, err := store.ListAll[records.Token](ctx, d.st, store.KindTokens)
	if err != nil || len(toks) != 1 {
		t.Fatalf("tokens: %v %v", toks, err)
	}
	before := snapshot(t, d)
	for _, a := range []Actor{deployer, reader, {Name: "x", Access: FullAccess(), Role: "superuser"}} {
		_, err := d.CreateToken(ctx, a, "ci", api.RoleAdmin, false)
		refused(t, d, before, a.Role+" CreateToken", err)
		_, err = d.ListTokens(ctx, a, Page{})
		refused(t, d, before, a.Role+" ListTokens", err)
		err = d.DeleteToken(ctx, a, toks[0].ID)
		refused(t, d, before, a.Role+" DeleteToken", err)
		_, err = d.CreateJoinToken(ctx, a, api.JoinTokenRequest{Rotate: true})
		refused(t, d, before, a.Role+" CreateJoinToken", err)
		_, err = d.ListJoinTokens(ctx, a)
		refused(t, d, before, a.Role+" ListJoinTokens", err)
		err = d.DeleteJoinToken(ctx, a, jt.ID)
		refused(t, d, before, a.Role+" DeleteJoinToken", err)
	}
}

func TestTokens(t *testing.T) {
	d := newTestDomain(t)
	ctx := context.Background()
	first, _, err := Bootstrap(ctx, d.st, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var note Note
	ci, err := d.CreateToken(Noting(ctx, &note), admin, "ci", api.RoleDeploy, false)
	if err != nil || ci.Role != api.RoleDeploy || ci.Admin || note.Object != ci.ID || !strings.HasPrefix(ci.Secret, "wharf_") {
		t.Fatalf("CreateToken: %+v %v, noted %q", ci, err, note.Object)
	}
	for _, c := range []struct {
		name, role string
		admin      bool
	}{{"bad name!", "", false}, {"x", "root", false}, {"x", api.RoleDeploy, true}} {
		if _, err := d.CreateToken(ctx, admin, c.name, c.role, c.admin); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("CreateToken(%q, %q, %v): %v, want invalid", c.name, c.role, c.admin, err)
		}
	}
	if ro, err := d.CreateToken(ctx, admin, "viewer", "", false); err != nil || ro.Role != api.RoleReadOnly {
		t.Errorf("a token without a role: %+v %v", ro, err)
	}
	l, err := d.ListTokens(ctx, admin, Page{Limit: 2})
	if err != nil || len(l.Items) != 2 || l.Next == "" {
		t.Fatalf("ListTokens: %+v %v", l, err)
	}

	// Authenticate: the good secrets, then wrong and deleted ones.
	for secret, want := range map[string]Actor{
		first:     {Name: "admin", Role: api.RoleAdmin},
		ci.Secret: {Name: "ci", Token: ci.ID, Role: api.RoleDeploy},
	} {
		got, err := d.Authenticate(ctx, secret, "")
		if err != nil || got.Name != want.Name || got.Role != want.Role || want.Token != "" && got.Token != want.Token {
			t.Errorf("Authenticate(%s): %+v %v, want %+v", want.Name, got, err, want)
		}
	}
	wrong := ci.Secret[:len(ci.Secret)-1] + "x"
	if ci.Secret[len(ci.Secret)-1] == 'x' {
		wrong = ci.Secret[:len(ci.Secret)-1] + "y"
	}
	for _, s := range []string{"", "garbage", "wharf_", "wharf_" + strings.Repeat("a", 52), wrong} {
		if _, err := d.Authenticate(ctx, s, ""); !errors.Is(err, errdefs.ErrUnauthorized) {
			t.Errorf("Authenticate(%q): %v, want unauthorized", s, err)
		}
	}
	if err := d.DeleteToken(ctx, admin, ci.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(ctx, ci.Secret, ""); !errors.Is(err, errdefs.ErrUnauthorized) {
		t.Errorf("a deleted token: %v, want unauthorized", err)
	}
	if err := d.DeleteToken(ctx, admin, ci.ID); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("deleting it again: %v", err)
	}
	adminActor, _ := d.Authenticate(ctx, first, "")
	if err := d.DeleteToken(ctx, admin, adminActor.Token); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("deleting the last admin token: %v", err)
	}
}

// TestStoredTokenJSON: the records keep the stored JSON field names, so
// tokens stored before them read as they were; the wire forms have no
// hash.
func TestStoredTokenJSON(t *testing.T) {
	tok := records.Token{Meta: api.Meta{ID: "abc", Name: "ci"}, Hash: "h", Role: api.RoleAdmin, Admin: true}
	b, _ := json.Marshal(&tok)
	if want := `{"id":"abc","name":"ci","hash":"h","role":"admin","admin":true}`; !strings.Contains(string(b), `"hash":"h","role":"admin","admin":true`) {
		t.Errorf("stored token: %s, want the fields of %s", b, want)
	}
	w, _ := json.Marshal(tok.Wire())
	jt := records.JoinToken{Meta: api.Meta{ID: "j"}, Hash: "h", MaxUses: 2, Uses: 1}
	b, _ = json.Marshal(&jt)
	if !strings.Contains(string(b), `"hash":"h","max_uses":2,"uses":1`) {
		t.Errorf("stored join token: %s", b)
	}
	jw, _ := json.Marshal(jt.Wire())
	for _, b := range [][]byte{w, jw} {
		if strings.Contains(string(b), "hash") {
			t.Errorf("wire form with a hash: %s", b)
		}
	}
}

// fakeJoin answers every join with node "n-new".
type fakeJoin struct{ called *int }

func (f fakeJoin) Join(_ context.Context, req api.JoinRequest, _ string, _ []*x509.Certificate) (api.JoinResponse, error) {
	*f.called++
	if req.Token != "good" {
		return api.JoinResponse{}, errdefs.New(errdefs.ErrUnauthorized, "bad join token")
	}
	return api.JoinResponse{NodeID: "n-new"}, nil
}

func TestJoinTokens(t *testing.T) {
	calls := 0
	d := newTestDomain(t, func(c *Config) {
		c.CADigest = "0123abcd"
		c.Join = fakeJoin{&calls}
		c.JoinCommand = func(tok string) string { return "join " + tok }
	})
	ctx := context.Background()
	var note Note
	jt, err := d.CreateJoinToken(Noting(ctx, &note), admin, api.JoinTokenRequest{MaxUses: 3})
	if err != nil || !strings.HasPrefix(jt.Token, "WHARF-1-0123abcd-") || jt.Command != "join "+jt.Token || jt.MaxUses != 3 ||
		jt.ExpiresAt.IsZero() || note.Object != jt.ID {
		t.Fatalf("CreateJoinToken: %+v %v, noted %q", jt, err, note.Object)
	}
	for _, req := range []api.JoinTokenRequest{{TTL: "soon"}, {TTL: "-1h"}, {MaxUses: -1}, {MaxUses: maxJoinTokenUses + 1}} {
		if _, err := d.CreateJoinToken(ctx, admin, req); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("CreateJoinToken(%+v): %v, want invalid", req, err)
		}
	}
	if _, err := d.CreateJoinToken(ctx, admin, api.JoinTokenRequest{TTL: "0"}); err != nil {
		t.Fatal(err)
	}
	rotated, err := d.CreateJoinToken(ctx, admin, api.JoinTokenRequest{Rotate: true})
	if err != nil {
		t.Fatal(err)
	}
	l, err := d.ListJoinTokens(ctx, admin)
	if err != nil || len(l.Items) != 1 || l.Items[0].ID != rotated.ID {
		t.Fatalf("join tokens after a rotation: %+v %v", l, err)
	}
	if err := d.DeleteJoinToken(ctx, admin, rotated.ID); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteJoinToken(ctx, admin, rotated.ID); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("deleting it again: %v", err)
	}

	// Join: the token is the credential, so no actor; the joiner checks it.
	if _, err := d.Join(ctx, api.JoinRequest{}, "1.2.3.4:5", nil); !errors.Is(err, errdefs.ErrInvalid) || calls != 0 {
		t.Errorf("a join without a token: %v (%d calls)", err, calls)
	}
	note = Note{}
	if _, err := d.Join(Noting(ctx, &note), api.JoinRequest{Token: "bad", NodeID: "n-old"}, "1.2.3.4:5", nil); !errors.Is(err, errdefs.ErrUnauthorized) || note.Object != "n-old" {
		t.Errorf("a join the joiner refuses: %v, noted %q", err, note.Object)
	}
	resp, err := d.Join(Noting(ctx, &note), api.JoinRequest{Token: "good"}, "1.2.3.4:5", nil)
	if err != nil || resp.NodeID != "n-new" || note.Object != "n-new" {
		t.Errorf("a join: %+v %v, noted %q", resp, err, note.Object)
	}
	if _, err := newTestDomain(t).Join(ctx, api.JoinRequest{Token: "good"}, "", nil); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("a server without a joiner: %v", err)
	}
}
