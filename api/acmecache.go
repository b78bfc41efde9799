package api

// The ACME cache: the account key, certificates (with their keys) and
// challenge tokens that an organization's routers get by ACME, kept once
// by the server for all its router nodes, which reach it over their
// agent session (POST /agent/v1/acme). Only nodes that carry the
// RouterLabel may use it, each its own organization's.

// ACME cache operations.
const (
	ACMECacheGet    = "get"
	ACMECachePut    = "put"
	ACMECacheDelete = "delete"
)

// Bounds of one ACME cache entry.
const (
	// MaxACMECacheKey is the longest key: a host name (at most 253),
	// its kind's suffix and the directory's prefix.
	MaxACMECacheKey = 320
	// MaxACMECacheData is the largest value: a certificate chain and
	// its key take a few KiB.
	MaxACMECacheData = 64 << 10
)

// ACMECacheRequest is one operation on the organization's ACME cache.
// Keys are letters, digits and ".", "_", "+", "-" (not starting with "."
// nor holding ".."), as the router's ACME client names its entries.
type ACMECacheRequest struct {
	Op   string `json:"op"` // get, put or delete
	Key  string `json:"key"`
	Data []byte `json:"data,omitempty"` // put: the value
}

// ACMECacheEntry answers a get: the value (a missing key is a 404
// not_found).
type ACMECacheEntry struct {
	Data []byte `json:"data"`
}
