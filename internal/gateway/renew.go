package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
	"github.com/wharfhq/wharf/internal/store"
)

// knows reports whether serial is one this session was admitted with or
// renewed to.
func (s *session) knows(serial string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serials[serial]
}

func (s *session) addSerial(serial string) {
	s.mu.Lock()
	s.serials[serial] = true
	s.mu.Unlock()
}

func (s *session) dropSerial(serial string) {
	s.mu.Lock()
	delete(s.serials, serial)
	s.mu.Unlock()
}

// handleRenew signs a new certificate for the session's node and makes it
// the node's current one. The session stays open: it was admitted with the
// old certificate, and the new serial is known to it before the store says
// so.
func (s *session) handleRenew(w http.ResponseWriter, r *http.Request) {
	var req api.RenewRequest
	if !decodeBody(w, r, &req) {
		return
	}
	s.g.touch(s.node)
	certPEM, serial, err := s.g.cfg.CA.SignNodeCSR([]byte(req.CSR), s.node, s.g.cfg.NodeCertValidity)
	if err != nil {
		errhttp.Write(w, errdefs.New(errdefs.ErrInvalid, "renew: "+err.Error()))
		return
	}
	s.addSerial(serial)
	if err := s.g.storeSerial(r.Context(), s.node, serial); err != nil {
		s.dropSerial(serial)
		s.log.Warn("certificate renewal not stored", "err", err)
		errhttp.Write(w, errdefs.New(errdefs.ErrUnavailable, "renew: "+err.Error()+"; keep the current certificate and try again later"))
		return
	}
	s.log.Info("node certificate renewed", "serial", serial)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(api.RenewResponse{Certificate: string(certPEM)})
}

// storeSerial makes serial the node's CertSerial, with an event.
func (g *Gateway) storeSerial(ctx context.Context, id, serial string) error {
	var n api.Node
	return g.store.Modify(ctx, store.KindNodes, id, &n, func() ([]api.Event, error) {
		if n.State == api.NodeTerminated {
			return nil, fmt.Errorf("node %s is terminated", id)
		}
		if n.CertSerial != serial {
			n.PrevCertSerial = n.CertSerial
		}
		n.CertSerial = serial
		return []api.Event{{Kind: "node", Object: id, Org: n.Org, Name: n.Hostname, Type: "updated",
			Message: fmt.Sprintf("node certificate renewed (valid for %s)", g.cfg.NodeCertValidity.Round(time.Second))}}, nil
	})
}
