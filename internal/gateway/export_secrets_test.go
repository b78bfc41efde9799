package gateway

// SetMaxPushSecretBytes sets the secret budget of one push for a test and
// returns the function that restores it.
func SetMaxPushSecretBytes(n int) (restore func()) {
	old := maxPushSecretBytes
	maxPushSecretBytes = n
	return func() { maxPushSecretBytes = old }
}
