package store

import (
	"context"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ListPrefix reads every object of a kind whose ID starts with idPrefix
// (one range read), in ID order.
func (s *Store) ListPrefix(ctx context.Context, kind, idPrefix string) (ListResult, error) {
	p := s.kindPrefix(kind)
	start := p + idPrefix
	octx, cancel := s.opContext(ctx)
	defer cancel()
	resp, err := s.cli.Get(octx, start, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return ListResult{}, wrapEtcd(err)
	}
	res := ListResult{Revision: resp.Header.Revision, More: resp.More}
	for _, kv := range resp.Kvs {
		res.Items = append(res.Items, RawObject{ID: strings.TrimPrefix(string(kv.Key), p), Value: kv.Value, Revision: kv.ModRevision, Version: kv.Version, kind: kind, shared: s.shared})
	}
	return res, nil
}

// CountPrefix counts the objects of a kind whose ID starts with idPrefix
// without reading them.
func (s *Store) CountPrefix(ctx context.Context, kind, idPrefix string) (int64, error) {
	octx, cancel := s.opContext(ctx)
	defer cancel()
	resp, err := s.cli.Get(octx, s.kindPrefix(kind)+idPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, wrapEtcd(err)
	}
	return resp.Count, nil
}
