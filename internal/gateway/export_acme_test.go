package gateway

// SetMaxACMEEntries sets the entries an organization's ACME cache may hold
// for a test and returns the function that restores it.
func SetMaxACMEEntries(n int) (restore func()) {
	old := maxACMEEntries
	maxACMEEntries = n
	return func() { maxACMEEntries = old }
}
