package lifecycle

import (
	"errors"
	"fmt"
	"slices"

	"github.com/wharfhq/wharf/api"
)

// nodeMoves lists, for each node state, the states it may move to; a
// state may always stay as it is. "" is a node stored without a state,
// which no version writes (a hello makes it Deployed). Who makes each
// move:
//
//	join (gateway)          new node -> Deploying
//	rejoin (gateway)        any but Terminating, Terminated -> Deploying
//	hello (gateway)         Deploying, Unreachable -> Deployed
//	heartbeats (gateway)    Deployed <-> Unreachable
//	node rm (API server)    any -> Terminating (drain first), Terminated (deleted)
//	reaper (controller)     Terminating -> Terminated (deleted once drained)
//
// Upgrading is reserved: nothing enters it yet.
var nodeMoves = map[api.NodeState][]api.NodeState{
	"":                  {api.NodeDeploying, api.NodeDeployed},
	api.NodeDeploying:   {api.NodeDeployed, api.NodeTerminating, api.NodeTerminated},
	api.NodeDeployed:    {api.NodeUnreachable, api.NodeDeploying, api.NodeTerminating, api.NodeTerminated},
	api.NodeUnreachable: {api.NodeDeployed, api.NodeDeploying, api.NodeTerminating, api.NodeTerminated},
	api.NodeUpgrading:   {api.NodeDeploying, api.NodeTerminating, api.NodeTerminated},
	api.NodeTerminating: {api.NodeTerminated},
	api.NodeTerminated:  nil,
}

// ErrNodeMove is the error of a node state move its lifecycle does not
// allow.
var ErrNodeMove = errors.New("node state move not allowed")

// NodeMoveAllowed reports whether a node in state from may move to to.
func NodeMoveAllowed(from, to api.NodeState) bool {
	if from == to {
		return true
	}
	return slices.Contains(nodeMoves[from], to)
}

// MoveNode is the one write of a node's state (a test keeps it so): it
// moves n to to if the node lifecycle allows it, and returns the event
// that records the move and whether the state changed. The event is of
// type "deleted" for Terminated (a Terminated node is deleted in the same
// write), "state" otherwise. A refused move leaves n as it was and wraps
// ErrNodeMove. The caller writes n and the event in one transaction.
func MoveNode(n *api.Node, to api.NodeState, msg string) (api.Event, bool, error) {
	from := n.State
	if !NodeMoveAllowed(from, to) {
		return api.Event{}, false, fmt.Errorf("%w: node %s is %s, cannot become %s", ErrNodeMove, n.ID, stateName(from), to)
	}
	n.State = to
	typ := "state"
	if to == api.NodeTerminated {
		typ = "deleted"
	}
	return api.Event{Kind: "node", Object: n.ID, Name: n.Hostname, Type: typ, State: string(to), Message: msg}, from != to, nil
}

// NewNode makes n a node that has just joined: Deploying and active,
// recorded by a "created" event.
func NewNode(n *api.Node, msg string) (api.Event, error) {
	n.Availability = api.AvailabilityActive
	ev, _, err := MoveNode(n, api.NodeDeploying, msg)
	ev.Type = "created"
	return ev, err
}

func stateName(s api.NodeState) string {
	if s == "" {
		return "without a state"
	}
	return string(s)
}
