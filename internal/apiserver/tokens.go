package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/store"
)

// newToken makes an API token of role: the stored object (ID = the first
// 16 hex digits of the secret's SHA-256, Hash = all of it) and the secret.
func newToken(name, role string) (api.Token, string, error) {
	secret, hash, err := pki.NewAPIToken()
	if err != nil {
		return api.Token{}, "", err
	}
	t := api.Token{Meta: api.Meta{ID: hashID(hash), Name: name}, Hash: hash, Role: role, Admin: role == api.RoleAdmin}
	return t, secret, nil
}

func tokenEvent(t *api.Token, typ, msg string) api.Event {
	return api.Event{Kind: "token", Object: t.ID, Name: t.Name, Type: typ, Message: msg}
}

// createTokenRequest asks for a token. Role defaults to read-only, the
// least privilege; "admin": true is the older way to ask for an admin
// token.
type createTokenRequest struct {
	Name  string `json:"name"`
	Role  string `json:"role"`
	Admin bool   `json:"admin"`
}

// role is the role the request asks for.
func (req createTokenRequest) role() (string, error) {
	switch {
	case req.Admin && req.Role != "" && req.Role != api.RoleAdmin:
		return "", errdefs.Invalid("role", "\"admin\": true asks for an admin token, \"role\" for a %s one: send only \"role\"", req.Role)
	case req.Admin:
		return api.RoleAdmin, nil
	case req.Role == "":
		return api.RoleReadOnly, nil
	case slices.Contains(api.Roles, req.Role):
		return req.Role, nil
	}
	return "", errdefs.Invalid("role", "unknown role %q: want %s", req.Role, strings.Join(api.Roles, ", "))
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var req createTokenRequest
	if err := s.decode(w, r, &req, false); err != nil {
		return err
	}
	if !tokenNameRE.MatchString(req.Name) {
		return errdefs.Invalid("name", "token name %q must match %s", req.Name, tokenNameRE)
	}
	role, err := req.role()
	if err != nil {
		return err
	}
	t, secret, err := newToken(req.Name, role)
	if err != nil {
		return err
	}
	setObject(r, t.ID)
	if err := s.st.Create(r.Context(), store.KindTokens, &t, tokenEvent(&t, "created", fmt.Sprintf("%s token %s created", t.Role, t.Name))); err != nil {
		return err
	}
	t.Hash = ""
	writeJSON(w, http.StatusCreated, api.TokenCreated{Token: t, Secret: secret})
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	return listHandler(s, store.KindTokens, func(t *api.Token) bool {
		t.Hash = ""
		return true
	})(w, r)
}

// deleteToken removes a token; it stops working at once. The last admin
// token cannot be deleted, so the cluster is never left without one.
func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	var t api.Token
	if err := s.st.Get(ctx, store.KindTokens, id, &t); err != nil {
		return explainWrite(err, "token", id)
	}
	if t.Admin {
		all, _, err := store.ListAll[api.Token](ctx, s.st, store.KindTokens)
		if err != nil {
			return err
		}
		admins := 0
		for _, o := range all {
			if o.Admin {
				admins++
			}
		}
		if admins <= 1 {
			return newErr(errdefs.ErrConflict, "token %q is the last admin token; create another admin token before deleting it", t.Name)
		}
	}
	if err := s.st.Delete(ctx, store.KindTokens, id, 0, tokenEvent(&t, "deleted", "token "+t.Name+" deleted")); err != nil {
		return explainWrite(err, "token", id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// adminTokenFile is where Bootstrap writes the first admin token's secret.
const adminTokenFile = "admin-token"

// Bootstrap makes the first admin token if no token exists yet: it stores
// only its hash, writes the secret to <dataDir>/admin-token (mode 0600) and
// returns it with created=true. If tokens exist it returns created=false and
// the secret from that file if the file is present ("" otherwise).
func Bootstrap(ctx context.Context, st *store.Store, dataDir string) (secret string, created bool, err error) {
	path := filepath.Join(dataDir, adminTokenFile)
	res, err := st.List(ctx, store.KindTokens, store.ListOptions{Limit: 1})
	if err != nil {
		return "", false, err
	}
	if len(res.Items) > 0 {
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		return strings.TrimSpace(string(b)), false, nil
	}
	t, secret, err := newToken("admin", api.RoleAdmin)
	if err != nil {
		return "", false, err
	}
	// The file first: a token whose secret nobody has would lock the
	// cluster out, while a file whose token was never stored is replaced
	// by the next Bootstrap.
	if err := writeSecretFile(path, secret); err != nil {
		return "", false, err
	}
	if err := st.Create(ctx, store.KindTokens, &t, tokenEvent(&t, "created", "first admin token created")); err != nil {
		return "", false, fmt.Errorf("store the first admin token: %w", err)
	}
	return secret, true, nil
}

// writeSecretFile writes a secret with mode 0600, atomically.
func writeSecretFile(path, secret string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".admin-token-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
