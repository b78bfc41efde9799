package domain

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

// Join tokens are "WHARF-1-<CA digest>-<secret>". The store keeps only the
// SHA-256 (hex) of the secret part, in a records.JoinToken with ID = its
// first 16 hex digits; the joiner (the agent gateway) parses a token,
// checks the digest against its CA and compares the secret's hash with the
// stored ones.

// maxJoinTokenUses caps max_uses far above any cluster, and far below
// where the store's use count could overflow.
const maxJoinTokenUses = 1_000_000

// CreateJoinToken makes a join token, living api.DefaultJoinTokenTTL
// unless req names a TTL ("0": forever), for req.MaxUses joins (0: any
// number); with req.Rotate, every older join token is deleted in the same
// transaction. It returns the token, the only time it is shown, with the
// commands that join a host with it. It refuses an actor who is not a
// nodes admin, an invalid TTL or use count, and (unavailable) a server
// without a CA.
func (d *Domain) CreateJoinToken(ctx context.Context, a Actor, req api.JoinTokenRequest) (api.JoinTokenCreated, error) {
	if err := a.need(NodesJoin); err != nil {
		return api.JoinTokenCreated{}, err
	}
	if d.cfg.CADigest == "" {
		return api.JoinTokenCreated{}, newErr(errdefs.ErrUnavailable, "this server has no CA yet, so it cannot make join tokens")
	}
	ttl := api.DefaultJoinTokenTTL
	if req.TTL != "" {
		dur, err := time.ParseDuration(req.TTL)
		if err != nil || dur < 0 {
			return api.JoinTokenCreated{}, errdefs.Invalid("ttl", "%q is not a duration such as 24h or 30m (0: a token that never expires)", req.TTL)
		}
		ttl = dur
	}
	if req.MaxUses < 0 || req.MaxUses > maxJoinTokenUses {
		return api.JoinTokenCreated{}, errdefs.Invalid("max_uses", "%d: want the number of nodes the token may join (at most %d), or 0 for no limit", req.MaxUses, maxJoinTokenUses)
	}
	token, hash, err := pki.NewJoinToken(d.cfg.CADigest)
	if err != nil {
		return api.JoinTokenCreated{}, err
	}
	org := a.orgOf()
	jt := records.JoinToken{Meta: api.Meta{ID: hashID(hash), Org: org}, Hash: hash, MaxUses: req.MaxUses}
	if ttl > 0 {
		jt.ExpiresAt = d.cfg.Now().UTC().Add(ttl).Truncate(time.Second)
	}
	noteObject(ctx, jt.ID)
	for attempt := 0; ; attempt++ {
		t := d.st.Txn()
		revoked := 0
		if req.Rotate {
			old, _, err := store.ListAll[records.JoinToken](ctx, d.st, store.KindJoinTokens)
			if err != nil {
				return api.JoinTokenCreated{}, err
			}
			for _, o := range old {
				if a.owns(&o.Meta) {
					t.Delete(store.KindJoinTokens, o.ID, o.Revision)
					revoked++
				}
			}
		}
		t.Create(store.KindJoinTokens, &jt)
		msg := "join token created (" + describeJoinToken(&jt) + ")"
		if req.Rotate {
			msg += fmt.Sprintf("; %d older join token(s) revoked", revoked)
		}
		t.Emit(api.Event{Kind: "token", Object: jt.ID, Org: org, Name: "join", Type: "created", Message: msg})
		err := t.Commit(ctx)
		if (errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound)) && attempt < 4 {
			continue // another rotation or a join raced this one: list again
		}
		if err != nil {
			return api.JoinTokenCreated{}, err
		}
		break
	}
	out := api.JoinTokenCreated{JoinToken: jt.Wire(), Token: token}
	if d.cfg.JoinCommand != nil {
		out.Command = d.cfg.JoinCommand(token)
	}
	if d.cfg.AgentCommand != nil {
		out.AgentCommand = d.cfg.AgentCommand(token)
	}
	return out, nil
}

// describeJoinToken says how long and for how many joins a token works.
func describeJoinToken(t *records.JoinToken) string {
	life := "never expires"
	if !t.ExpiresAt.IsZero() {
		life = "expires " + t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	uses := "any number of nodes"
	if t.MaxUses > 0 {
		uses = fmt.Sprintf("%d node(s)", t.MaxUses)
	}
	return life + ", joins " + uses
}

// ListJoinTokens reads every join token of the actor's organization, with
// its expiry and uses, never
// its hash. There are few, so there is one page. It refuses an actor who
// is not a nodes admin.
func (d *Domain) ListJoinTokens(ctx context.Context, a Actor) (api.List[api.JoinToken], error) {
	if err := a.need(NodesJoin); err != nil {
		return api.List[api.JoinToken]{Items: []api.JoinToken{}}, err
	}
	all, err := store.ListJoinTokens(ctx, d.st)
	if err != nil {
		return api.List[api.JoinToken]{Items: []api.JoinToken{}}, err
	}
	l := api.List[api.JoinToken]{Items: make([]api.JoinToken, 0, len(all))}
	for _, t := range all {
		if a.owns(&t.Meta) {
			l.Items = append(l.Items, t.Wire())
		}
	}
	return l, nil
}

// DeleteJoinToken revokes a join token of the actor's organization
// (another organization's is not found): it stops working at once (a join
// racing the delete either commits before it or fails). Nodes that joined
// with it stay. It refuses an actor who is not a nodes admin.
func (d *Domain) DeleteJoinToken(ctx context.Context, a Actor, id string) error {
	if err := a.need(NodesJoin); err != nil {
		return err
	}
	noteObject(ctx, id)
	var jt records.JoinToken
	if err := d.st.Get(ctx, store.KindJoinTokens, id, &jt); err != nil {
		return explainWrite(err, "join token", id)
	}
	if !a.owns(&jt.Meta) {
		return notFoundErr("join token", id)
	}
	err := d.st.Delete(ctx, store.KindJoinTokens, id, 0,
		api.Event{Kind: "token", Object: id, Org: jt.Org, Name: "join", Type: "deleted", Message: "join token " + id + " revoked"})
	return explainWrite(err, "join token", id)
}

// Join enrolls a node through Config.Join. It needs no actor: the join
// token in req is the credential, and the joiner checks it; peer is the
// join connection's TLS client certificates (nil when it sent none), a
// rejoin's proof of the node's identity. It refuses a request without a
// token, and (unavailable) a server that accepts no nodes.
func (d *Domain) Join(ctx context.Context, req api.JoinRequest, remoteAddr string, peer []*x509.Certificate) (api.JoinResponse, error) {
	if req.Token == "" {
		return api.JoinResponse{}, errdefs.Invalid("token", "required: the join token")
	}
	if d.cfg.Join == nil {
		return api.JoinResponse{}, newErr(errdefs.ErrUnavailable, "this server does not accept nodes")
	}
	noteObject(ctx, req.NodeID)
	resp, err := d.cfg.Join.Join(ctx, req, remoteAddr, peer)
	if err != nil {
		return resp, err
	}
	noteObject(ctx, resp.NodeID)
	return resp, nil
}
