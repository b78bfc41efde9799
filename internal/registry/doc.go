// Package registry is the server's built-in OCI distribution registry: the
// distribution project's registry (github.com/distribution/distribution/v3)
// embedded as a library, stored on the server's disk (<data-dir>/registry)
// or on S3-compatible storage. It runs with no authentication of its own:
// the API server puts Wharf's (tokens, node credentials, organizations and
// roles) in front of Handler, and the domain layer reaches the stored
// images (list, remove, garbage collection) through Registry's methods.
package registry
