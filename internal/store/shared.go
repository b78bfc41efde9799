package store

import (
	"runtime"
	"sync"
	"weak"
)

// sharedDecodes lets the watchers of one store in one process (the service
// controller and the agent gateway each mirror every container) hold one
// decoded copy of an object, not one each: DecodeShared returns the same
// pointer for the same key at the same revision while anyone still holds
// it. Entries are weak: the memo keeps nothing alive, and an entry goes
// when its object is collected.
type sharedDecodes struct {
	mu sync.Mutex
	m  map[sharedKey]any // weak.Pointer[T] for the kind's T
}

type sharedKey struct {
	kind, id string
	rev      int64
}

// DecodeShared decodes a change like Change.Decode into a new *T, or
// returns the *T already decoded for the same object at the same revision
// by another caller of this store. The result is shared: read it, never
// change it (copy first). An entry costs about 100 bytes (a map entry, a
// weak pointer, a cleanup) for as long as its object lives: it pays for
// objects that more than one watcher keeps (containers), not for others.
func DecodeShared[T any, PT interface {
	*T
	Object
}](c Change) (*T, error) {
	return decodeShared[T, PT](c.shared, c.Kind, c.ID, c.Revision, c.Value)
}

// DecodeRawShared is DecodeShared for an object of a List.
func DecodeRawShared[T any, PT interface {
	*T
	Object
}](r RawObject) (*T, error) {
	return decodeShared[T, PT](r.shared, r.kind, r.ID, r.Revision, r.Value)
}

func decodeShared[T any, PT interface {
	*T
	Object
}](s *sharedDecodes, kind, id string, rev int64, value []byte) (*T, error) {
	if s == nil { // not from a store: nothing to share with
		v := new(T)
		return v, decode(value, rev, PT(v))
	}
	k := sharedKey{kind, id, rev}
	if v := s.load(k); v != nil {
		if p, ok := v.(weak.Pointer[T]); ok {
			if t := p.Value(); t != nil {
				return t, nil
			}
		}
	}
	v := new(T)
	if err := decode(value, rev, PT(v)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.m[k].(weak.Pointer[T]); ok {
		if t := p.Value(); t != nil {
			return t, nil // decoded meanwhile by another caller
		}
	}
	if s.m == nil {
		s.m = map[sharedKey]any{}
	}
	s.m[k] = weak.Make(v)
	runtime.AddCleanup(v, func(k sharedKey) { forgetShared[T](s, k) }, k)
	return v, nil
}

func (s *sharedDecodes) load(k sharedKey) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[k]
}

// forgetShared drops k once its object is collected, unless k was decoded
// again since (its entry then holds a live object).
func forgetShared[T any](s *sharedDecodes, k sharedKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.m[k].(weak.Pointer[T]); ok && p.Value() != nil {
		return
	}
	delete(s.m, k)
}
