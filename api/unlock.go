package api

// UnlockPath is where the server of a locked cluster (--autolock) takes
// its unlock key after a restart; it answers nothing else until then.
const UnlockPath = "/v1/unlock"

// UnlockRequest is the body of POST /v1/unlock.
type UnlockRequest struct {
	UnlockKey string `json:"unlock_key"`
}
