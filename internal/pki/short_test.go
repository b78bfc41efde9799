package pki

import (
	"testing"
	"time"
)

// A short-lived certificate is backdated by a tenth of its life, not by the
// full clock skew allowance, so that renewing at a share of its life works.
func TestShortCertificateBackdate(t *testing.T) {
	ca, err := NewCA("test")
	if err != nil {
		t.Fatal(err)
	}
	_, csr, err := NewKeyAndCSR("n1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		validity, maxBack time.Duration
	}{
		{6 * time.Second, 600 * time.Millisecond},
		{DefaultNodeCertValidity, clockSkew},
	} {
		certPEM, _, err := ca.SignNodeCSR(csr, "n1", tc.validity)
		if err != nil {
			t.Fatal(err)
		}
		c, err := parseCertificate(certPEM)
		if err != nil {
			t.Fatal(err)
		}
		life := c.NotAfter.Sub(c.NotBefore)
		if back := life - tc.validity; back < tc.maxBack-2*time.Second || back > tc.maxBack+time.Second {
			t.Errorf("validity %v: backdated by %v, want about %v", tc.validity, back, tc.maxBack)
		}
	}
}
