//go:build !linux

package agentcmd

// dropStartupPages does nothing off Linux.
func dropStartupPages() (int64, error) { return 0, nil }
