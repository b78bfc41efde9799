package api

// Secret is a secret's metadata as the API shows it. The value is never
// returned after it is sent: not on create, not on inspect, not in a list,
// an event or an action. No digest of it is shown either (a digest of a
// low-entropy value would let anyone who may read it guess the value).
type Secret struct {
	Meta
	// Size is the value's length in bytes.
	Size int `json:"size"`
	// Version starts at 1 and rises with each update of the value.
	Version int64 `json:"version"`
}

// SecretRequest creates a secret (Name and Data) or replaces its value
// (Data; Revision or If-Match for the compare-and-swap). Data is base64 in
// JSON.
type SecretRequest struct {
	Name     string `json:"name,omitempty"`
	Data     []byte `json:"data"`
	Revision int64  `json:"revision,omitempty"`
}

// MaxSecretSize is the largest secret value (Docker's limit).
const MaxSecretSize = 500 << 10

// DefaultSecretMode is a secret file's mode when a SecretRef sets none:
// readable by its owner only. The docker driver's files are owned by root,
// so a workload that runs as another user needs mode 0444; the exec
// driver's belong to the workload's user.
const DefaultSecretMode = 0o400

// SecretRef is a service's use of a secret: the secret Source (its name)
// is mounted read-only as the file Target (default Source) under
// /run/secrets with the docker driver, or under $WHARF_SECRETS_DIR with
// the exec driver, with Mode (default DefaultSecretMode).
type SecretRef struct {
	Source string `json:"source"`
	Target string `json:"target,omitempty"`
	Mode   uint32 `json:"mode,omitempty"`
}

// FileName is the file the secret is mounted as.
func (r SecretRef) FileName() string {
	if r.Target != "" {
		return r.Target
	}
	return r.Source
}

// FileMode is the file's mode.
func (r SecretRef) FileMode() uint32 {
	if r.Mode != 0 {
		return r.Mode
	}
	return DefaultSecretMode
}

// SecretFile is one secret file as the gateway hands it to the agent of a
// node that runs a container using it (see Assignments.Secrets); nothing
// else ever carries a secret's value.
type SecretFile struct {
	Target string `json:"target"`
	Mode   uint32 `json:"mode"`
	Data   []byte `json:"data"`
	// Version names the value: "<secret ID>.<version>". It changes when
	// the value does, so a container can tell a new value from its own.
	Version string `json:"version"`
}
