package domain

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

// TestSignInCodes: a code is stored as its hash alone, trades once for a
// token with the rights of the token that asked (its user, role and
// organization), not after a minute, and not after that token is gone.
func TestSignInCodes(t *testing.T) {
	x := newAccounts(t)
	annSecret := x.user("ann")
	if _, err := x.d.AddMember(x.ctx, x.root, api.OwnersTeam, "ann"); err != nil {
		t.Fatal(err)
	}
	annCode, err := x.d.CreateSignInCode(x.ctx, x.auth(annSecret, ""))
	if err != nil {
		t.Fatal(err)
	}
	annTok, _, err := x.d.RedeemSignInCode(x.ctx, annCode.Code)
	if err != nil {
		t.Fatal(err)
	}
	if a := x.auth(annTok.Secret, ""); a.User != "ann" || !a.Can(OrgManage) {
		t.Errorf("ann's session: %+v, want ann with an owner's rights", a)
	}

	ro, err := x.d.CreateToken(x.ctx, x.root, "viewer", api.RoleReadOnly, false)
	if err != nil {
		t.Fatal(err)
	}
	viewer := x.auth(ro.Secret, "")

	code, err := x.d.CreateSignInCode(x.ctx, viewer)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(code.Code, "wharfui_") || code.Org != DefaultOrg || code.ExpiresAt.Sub(x.d.cfg.Now()) != SignInCodeTTL {
		t.Errorf("code %+v", code)
	}
	all, _, err := store.ListAll[records.SignInCode](x.ctx, x.d.st, store.KindSignInCodes)
	if err != nil || len(all) != 1 || all[0].Hash != pki.HashSecret(code.Code) || strings.Contains(all[0].Hash, code.Code) {
		t.Fatalf("stored codes %+v %v: want the hash alone", all, err)
	}

	tok, org, err := x.d.RedeemSignInCode(x.ctx, code.Code)
	if err != nil || org != DefaultOrg {
		t.Fatalf("redeem: %v (org %q)", err, org)
	}
	a := x.auth(tok.Secret, "")
	if a.Role != api.RoleReadOnly || a.Can(AppsOperate) || !a.Can(AppsView) {
		t.Errorf("the session of a read-only token's code: %+v", a)
	}
	if _, _, err := x.d.RedeemSignInCode(x.ctx, code.Code); !errors.Is(err, errdefs.ErrUnauthorized) {
		t.Errorf("a second redeem: %v, want unauthorized", err)
	}

	late, _ := x.d.CreateSignInCode(x.ctx, viewer)
	x.clock.Add(int64(SignInCodeTTL))
	if _, _, err := x.d.RedeemSignInCode(x.ctx, late.Code); !errors.Is(err, errdefs.ErrUnauthorized) {
		t.Errorf("an expired code: %v, want unauthorized", err)
	}

	orphan, _ := x.d.CreateSignInCode(x.ctx, viewer)
	if err := x.d.DeleteToken(x.ctx, x.root, viewer.Token); err != nil {
		t.Fatal(err)
	}
	if _, _, err := x.d.RedeemSignInCode(x.ctx, orphan.Code); !errors.Is(err, errdefs.ErrUnauthorized) {
		t.Errorf("a code of a deleted token: %v, want unauthorized", err)
	}
	for _, bad := range []string{"", "wharf_abc", "wharfui_" + strings.Repeat("a", 200)} {
		if _, _, err := x.d.RedeemSignInCode(x.ctx, bad); !errors.Is(err, errdefs.ErrUnauthorized) {
			t.Errorf("code %q: %v", bad, err)
		}
	}
	if _, err := x.d.CreateSignInCode(x.ctx, Actor{Name: "nobody"}); !errors.Is(err, errdefs.ErrForbidden) {
		t.Errorf("a code without a token: %v", err)
	}
}

// TestSignInCodeSessionExpiry: the session token lives no longer than
// SessionTTL nor than the token that asked.
func TestSignInCodeSessionExpiry(t *testing.T) {
	x := newAccounts(t)
	short, err := x.d.CreateTokenFor(x.ctx, x.root, api.CreateTokenRequest{Name: "short", Role: api.RoleAdmin, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	code, err := x.d.CreateSignInCode(x.ctx, x.auth(short.Secret, ""))
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := x.d.RedeemSignInCode(x.ctx, code.Code)
	if err != nil {
		t.Fatal(err)
	}
	if !tok.Token.ExpiresAt.Equal(short.Token.ExpiresAt) {
		t.Errorf("session token expires %v, want the asking token's %v", tok.Token.ExpiresAt, short.Token.ExpiresAt)
	}
	code, _ = x.d.CreateSignInCode(x.ctx, x.root)
	tok, _, _ = x.d.RedeemSignInCode(x.ctx, code.Code)
	if got := tok.Token.ExpiresAt.Sub(x.d.cfg.Now()); got > SessionTTL || got < SessionTTL-time.Second {
		t.Errorf("session token of a token without expiry lives %v, want %v", got, SessionTTL)
	}
}
