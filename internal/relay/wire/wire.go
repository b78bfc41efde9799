// Package wire is the framing of the overlay relay stream that an agent
// holds open with the gateway (POST /agent/v1/relay): a sequence of
// records, each an Ethernet frame of one overlay network (VNI) with the
// node it goes to (agent to gateway) or comes from (gateway to agent).
// Both ends of the session use it; it knows nothing else of either.
//
// A record is: 2 bytes (big endian) length of what follows, 1 byte length
// of the node ID, the node ID, 4 bytes VNI, the frame.
package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Path is the agent route the relay stream is opened on.
const Path = "/agent/v1/relay"

// MaxRecord is the largest record after its 2-byte length.
const MaxRecord = 0xffff

// MaxNodeID is the longest node ID a record can carry.
const MaxNodeID = 0xff

// minFrame is the smallest Ethernet header.
const minFrame = 14

// Record is one relayed frame.
type Record struct {
	Node  string // destination (up) or source (down) node
	VNI   uint32
	Frame []byte
}

// ErrTooLarge is returned for a record that does not fit the framing.
var ErrTooLarge = errors.New("relay record too large")

// Append appends rec's encoding to buf.
func Append(buf []byte, rec Record) ([]byte, error) {
	if len(rec.Node) == 0 || len(rec.Node) > MaxNodeID {
		return buf, fmt.Errorf("relay record: node ID of %d bytes (want 1-%d)", len(rec.Node), MaxNodeID)
	}
	n := 1 + len(rec.Node) + 4 + len(rec.Frame)
	if n > MaxRecord {
		return buf, ErrTooLarge
	}
	buf = binary.BigEndian.AppendUint16(buf, uint16(n))
	buf = append(buf, byte(len(rec.Node)))
	buf = append(buf, rec.Node...)
	buf = binary.BigEndian.AppendUint32(buf, rec.VNI)
	return append(buf, rec.Frame...), nil
}

// Reader reads records from a stream.
type Reader struct {
	r   *bufio.Reader
	buf [MaxRecord]byte
}

// NewReader reads records from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10)}
}

// Read returns the next record. Its Frame is valid until the next call.
// A malformed record is an error: the stream cannot be resynchronised.
func (rd *Reader) Read() (Record, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(rd.r, hdr[:]); err != nil {
		return Record{}, err
	}
	n := int(binary.BigEndian.Uint16(hdr[:]))
	b := rd.buf[:n]
	if _, err := io.ReadFull(rd.r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Record{}, err
	}
	if n < 1 {
		return Record{}, errors.New("relay record: empty")
	}
	idLen := int(b[0])
	if idLen == 0 || 1+idLen+4+minFrame > n {
		return Record{}, fmt.Errorf("relay record: %d bytes cannot hold a node ID of %d bytes, a VNI and a frame", n, idLen)
	}
	return Record{
		Node:  string(b[1 : 1+idLen]),
		VNI:   binary.BigEndian.Uint32(b[1+idLen:]),
		Frame: b[1+idLen+4:],
	}, nil
}
