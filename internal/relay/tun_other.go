//go:build !linux

package relay

import (
	"errors"
	"os"
)

var errNotLinux = errors.New("relay: the overlay relay runs on Linux only")

func openTUN(string) (*os.File, error) { return nil, errNotLinux }

func openPacket(int, uint16) (*os.File, error) { return nil, errNotLinux }

func openRawPacket() (*os.File, error) { return nil, errNotLinux }

func sendPacket(*os.File, int, []byte) error { return errNotLinux }
