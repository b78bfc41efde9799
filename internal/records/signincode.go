package records

import (
	"time"

	"github.com/wharfhq/wharf/api"
)

// SignInCode is a one-time code that signs a browser in to the dashboard
// as the API token that asked for it (`wharf ui`), as stored: the SHA-256
// of the code, never the code. Its ID is the first 16 hex digits of Hash.
type SignInCode struct {
	api.Meta
	Hash string `json:"hash"`
	// Token is the ID of the API token whose rights the session gets.
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}
