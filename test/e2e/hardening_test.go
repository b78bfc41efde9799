package e2e

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/hostile"
	"github.com/wharfhq/wharf/internal/testserver"
)

// TestServerListenersRefuseWeakTLS dials the API of a real `wharf server`
// offering only CBC-SHA1 or static-RSA suites in TLS 1.2: refused; ECDHE
// with AES-GCM is accepted. The agent gateway speaks only TLS 1.3.
func TestServerListenersRefuseWeakTLS(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	for _, weak := range []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_AES_128_GCM_SHA256} {
		if got, err := hostile.TLS12Handshake(s.Addr, weak); err == nil {
			t.Errorf("API accepted TLS 1.2 with %s", tls.CipherSuiteName(got))
		}
	}
	if got, err := hostile.TLS12Handshake(s.Addr, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256); err != nil {
		t.Errorf("API refused TLS 1.2 with ECDHE-ECDSA-AES128-GCM: %s %v", tls.CipherSuiteName(got), err)
	}
	if _, err := hostile.TLS12Handshake(s.AgentAddr, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256); err == nil {
		t.Error("the agent gateway accepted TLS 1.2")
	}
}

// TestGuessersAreThrottled runs an API token guesser against a real
// server: after 10 wrong tokens it gets 429 with Retry-After, and so do its
// joins (one table of failures per address).
func TestGuessersAreThrottled(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	tries, err := hostile.GuessTokens(s.HTTP(), s.URL, 12)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range tries {
		if i < 10 && a.Status != http.StatusUnauthorized || i >= 10 && !a.Refused() {
			t.Fatalf("token guess %d: %+v; want 401 for the first 10, then 429 with Retry-After", i+1, a)
		}
	}
	if tries[11].Code != api.CodeTooManyRequests {
		t.Fatalf("429 with code %q", tries[11].Code)
	}
	// Joins share the table: the guesser's address is refused at once.
	joins, err := hostile.GuessJoins(s.HTTP(), s.URL, strings.Repeat("0", 64), 1)
	if err != nil {
		t.Fatal(err)
	}
	if !joins[0].Refused() {
		t.Fatalf("a join from the refused address: %+v, want 429", joins[0])
	}
}
