package ui

// Defences against forged requests and hostile framing: every answer's
// security headers, the cross-origin check every POST passes first, and
// the per-session token every form carries in a hidden field.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"mime"
	"net/http"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/compose"
)

// csrfField is the hidden form field that carries the session's token.
const csrfField = "csrf"

// crossOrigin refuses a POST a browser sends from another site (its
// Sec-Fetch-Site header, else its Origin against the Host).
var crossOrigin = http.NewCrossOriginProtection()

// contentSecurityPolicy lets pages load only the dashboard's own script,
// style and images: no inline script or style, no framing, forms posting
// to the dashboard alone.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// secureHeaders sets the headers every dashboard answer carries.
func secureHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// csrfToken is the form token of the session whose secret this is: an
// HMAC under the server's key, so it proves the form was rendered for
// this session, and reveals nothing of the secret.
func (h *Handler) csrfToken(secret string) string {
	m := hmac.New(sha256.New, h.cfg.CSRFKey)
	m.Write([]byte("wharf ui csrf\x00"))
	m.Write([]byte(secret))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF is nil when the request's form carries the session's token.
func (h *Handler) checkCSRF(r *http.Request, secret string) error {
	got := r.PostFormValue(csrfField)
	if got == "" {
		return errNoCSRF
	}
	if !hmac.Equal([]byte(got), []byte(h.csrfToken(secret))) {
		return errBadCSRF
	}
	return nil
}

// parseBody reads a POST's form (multipart or not) within limit, so that a
// body too large is refused with its own message rather than read as a
// form without its token.
func parseBody(r *http.Request, limit int64) error {
	var err error
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		err = r.ParseMultipartForm(limit)
	} else {
		err = r.ParseForm()
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return invalid("form", "the form sent is larger than %d KiB (a compose file may be up to %d KiB, a secret up to %d KiB): send a smaller one, or use the CLI", limit>>10, compose.MaxUntrusted>>10, api.MaxSecretSize>>10)
	case err != nil:
		return invalid("form", "cannot read the form: %v", err)
	}
	return nil
}
