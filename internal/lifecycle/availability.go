package lifecycle

import (
	"errors"
	"fmt"

	"github.com/wharfhq/wharf/api"
)

// ErrAvailability is the error of an availability a node cannot take: an
// unknown one, or any change on a node being removed.
var ErrAvailability = errors.New("node availability not allowed")

// SetAvailability is the one write of a node's availability (a test keeps
// it so): it sets n's availability to to and returns the event that
// records it ("availability", with msg) and whether it changed. It refuses
// an availability other than active, pause and drain, and any change on a
// Terminating or Terminated node (node rm drains it already); a refusal
// leaves n as it was and wraps ErrAvailability. Availability is apart from
// the node's State: the gateway's and the reaper's state moves leave it
// alone. The event's State is the new availability. The caller writes
// n and the event in one transaction.
func SetAvailability(n *api.Node, to api.NodeAvailability, msg string) (api.Event, bool, error) {
	if err := ValidAvailability(to); err != nil {
		return api.Event{}, false, err
	}
	if n.State == api.NodeTerminating || n.State == api.NodeTerminated {
		return api.Event{}, false, fmt.Errorf("%w: node %s is %s (being removed): its availability stays as it is", ErrAvailability, n.ID, n.State)
	}
	from := n.Available()
	n.Availability = to
	return api.Event{Kind: "node", Object: n.ID, Name: n.Hostname, Type: "availability", State: string(to), Message: msg}, from != to, nil
}

// ValidAvailability refuses (wrapping ErrAvailability) anything but
// active, pause and drain.
func ValidAvailability(a api.NodeAvailability) error {
	switch a {
	case api.AvailabilityActive, api.AvailabilityPause, api.AvailabilityDrain:
		return nil
	}
	return fmt.Errorf("%w: %q is no node availability: want active, pause or drain", ErrAvailability, a)
}
