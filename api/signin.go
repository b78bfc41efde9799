package api

import "time"

// SignInCode answers POST /v1/ui/signin-codes: a one-time code that signs
// a browser in to the web dashboard (at /ui/login/code?code=...) with the
// rights of the token that asked, until ExpiresAt (a minute).
type SignInCode struct {
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expires_at"`
	// Org is the organization the session starts in.
	Org string `json:"org"`
}

// SignInCodePath is where the dashboard takes a sign-in code.
const SignInCodePath = "/ui/login/code"
