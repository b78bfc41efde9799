package relay

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// openTUN opens (creating /dev/net/tun if the node lacks it) a TUN device
// without packet information.
func openTUN(name string) (*os.File, error) {
	const path = "/dev/net/tun"
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		_ = os.MkdirAll("/dev/net", 0o755)
		if err := unix.Mknod(path, unix.S_IFCHR|0o666, int(unix.Mkdev(10, 200))); err != nil {
			return nil, fmt.Errorf("relay: %s is missing and cannot be made: %w", path, err)
		}
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("relay: open %s: %w (the agent needs CAP_NET_ADMIN and the tun device)", path, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("relay: create the TUN device %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// openPacket opens an AF_PACKET socket reading one ethertype's payloads
// on one interface.
func openPacket(ifindex int, ethertype uint16) (*os.File, error) {
	proto := int(htons(ethertype))
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, proto)
	if err != nil {
		return nil, fmt.Errorf("relay: packet socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(ethertype), Ifindex: ifindex}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("relay: bind the packet socket to %s: %w", ProbeName, err)
	}
	return os.NewFile(uintptr(fd), ProbeName), nil
}

// openRawPacket opens an AF_PACKET socket that sends whole frames.
func openRawPacket() (*os.File, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("relay: packet socket: %w", err)
	}
	return os.NewFile(uintptr(fd), "relay-inject"), nil
}

// sendPacket sends a whole Ethernet frame out of an interface.
func sendPacket(f *os.File, ifindex int, frame []byte) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Write(func(fd uintptr) bool {
		proto := htons(uint16(frame[12])<<8 | uint16(frame[13]))
		serr = unix.Sendto(int(fd), frame, 0, &unix.SockaddrLinklayer{Ifindex: ifindex, Protocol: proto})
		return serr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	return serr
}
