//go:build !linux

package agentcmd

// dropBinaryPages does nothing off Linux.
func dropBinaryPages() (int64, error) { return 0, nil }
