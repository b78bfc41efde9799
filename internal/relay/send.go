package relay

import "github.com/wharfhq/wharf/internal/relay/wire"

// send hands a captured frame to Config.Send or queues it for Serve,
// dropping it when the queue is full (a datagram path: TCP recovers).
func (r *Relay) send(node string, vni uint32, frame []byte) {
	if r.cfg.Send != nil {
		r.cfg.Send(node, vni, frame)
		r.c.sent.Add(1)
		return
	}
	rec, err := wire.Append(make([]byte, 0, 2+1+len(node)+4+len(frame)), wire.Record{Node: node, VNI: vni, Frame: frame})
	if err != nil {
		r.c.dropped.Add(1)
		return
	}
	select {
	case r.up <- rec:
		r.c.sent.Add(1)
	default:
		r.c.dropped.Add(1)
	}
}
