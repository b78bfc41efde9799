package gateway

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// FuzzAgentMessages decodes arbitrary bodies as the messages the gateway
// reads from agents (join, hello, status report, renewal), the way its
// handlers do: never a panic; a body that does not decode gets a 400 that
// says so; a join that validates has a valid host name, labels and CSR,
// and one that does not gets a FieldError naming its field; a status
// report survives the gateway's normalization and a JSON round trip.
func FuzzAgentMessages(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "node"}}, key)
	if err != nil {
		f.Fatal(err)
	}
	csr := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	join, _ := json.Marshal(api.JoinRequest{Token: "WHARF-JOIN-x", CSR: csr, Hostname: "node-1", Labels: map[string]string{"zone": "a", "disk/type": "ssd"}})
	for _, seed := range []string{
		string(join),
		`{"token":"t","csr":"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n","hostname":"h"}`,
		`{"hostname":"-bad","csr":"x"}`, `{"hostname":"h","labels":{"":"v"},"csr":"x"}`,
		`{"hostname":"node-1","addresses":["10.0.0.2"],"os":"linux","arch":"amd64","cpus":4,"memory_bytes":8589934592,"time":"2026-01-02T03:04:05Z","drivers":["exec","fake"]}`,
		`{"containers":[{"id":"c1","status":{"state":"Running","pid":42,"host_port":8080,"started_at":"2026-01-02T03:04:05.123456789+02:00","restart_count":1}}]}`,
		`{"containers":[{"id":"","status":{"state":"Exited","exit_code":1,"finished_at":"0001-01-01T00:00:00Z"}}]}`,
		`{"csr":"` + strings.ReplaceAll(csr, "\n", `\n`) + `"}`,
		`{"containers":null}`, `[]`, `{`, ``, `{"containers":[{"status":{"started_at":"9999-12-31T23:59:59-23:59"}}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var jr api.JoinRequest
		if decode(t, body, &jr) {
			if err := validateJoin(jr); err != nil {
				var fe *errdefs.FieldError
				if !errors.As(err, &fe) || !(fe.Field == "hostname" || fe.Field == "csr" || strings.HasPrefix(fe.Field, "labels")) {
					t.Fatalf("validateJoin(%s): %v, want a FieldError on hostname, labels or csr", body, err)
				}
			} else {
				if !hostnameRe.MatchString(jr.Hostname) || len(jr.Labels) > maxLabels {
					t.Fatalf("validateJoin accepted %s", body)
				}
				for k, v := range jr.Labels {
					if !labelKeyRe.MatchString(k) || !labelValueRe.MatchString(v) {
						t.Fatalf("validateJoin accepted label %q=%q", k, v)
					}
				}
			}
		}
		var hello api.AgentHello
		decode(t, body, &hello)
		var renew api.RenewRequest
		decode(t, body, &renew)
		var rep api.StatusReport
		if decode(t, body, &rep) {
			for _, c := range rep.Containers {
				n := normalize(c.Status)
				if !reflect.DeepEqual(normalize(n), n) {
					t.Fatalf("normalize is not idempotent on %+v", c.Status)
				}
			}
			out, err := json.Marshal(rep)
			if err != nil {
				t.Fatalf("a decoded report does not re-encode (the store could not write it): %v", err)
			}
			var again api.StatusReport
			if err := json.Unmarshal(out, &again); err != nil {
				t.Fatalf("a decoded report re-encodes as %s, which does not decode: %v", out, err)
			}
			out2, _ := json.Marshal(again)
			if !bytes.Equal(out, out2) {
				t.Fatalf("round trip changed the report:\n%s\n%s", out, out2)
			}
		}
	})
}

// decode runs the gateway's decodeBody on body into v and checks a failure
// is a 400 that says the body is bad.
func decode(t *testing.T, body []byte, v any) bool {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/agent/v1/x", bytes.NewReader(body))
	if decodeBody(w, r, v) {
		return true
	}
	var eb api.ErrorBody
	if w.Code != http.StatusBadRequest || json.Unmarshal(w.Body.Bytes(), &eb) != nil || eb.Error.Code != api.CodeInvalid ||
		!strings.HasPrefix(eb.Error.Message, "bad request body") {
		t.Fatalf("decodeBody(%q) failed with %d %q, want 400 invalid \"bad request body: ...\"", body, w.Code, w.Body.String())
	}
	return false
}
