package domain

import (
	"context"
	"errors"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// nameIndex reserves an object's name. It is stored with kind
// store.KindNames and ID "<kind>.<name>" in the default organization,
// "<kind>@<org>.<name>" in others (serviceNameKey, stackNameKey);
// Meta.Name holds the object's ID. It is created in the same transaction
// as the object, so a name has one owner; whoever deletes the object
// deletes it too.
type nameIndex struct {
	api.Meta
}

// byName reads the object of kind whose name index is key; it returns
// store.ErrNotFound when there is no such index or object.
func byName[T any, PT interface {
	*T
	store.Object
}](ctx context.Context, st *store.Store, kind, key string) (PT, error) {
	var idx nameIndex
	if err := st.Get(ctx, store.KindNames, key, &idx); err != nil {
		return nil, err
	}
	obj := PT(new(T))
	if err := st.Get(ctx, kind, idx.Name, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// resolve finds an object of kind in the actor's organization by ID,
// then by name through its index key(org, ref); what names the kind in a
// not-found error. Another organization's object is not found, exactly
// like a missing one.
func resolve[T any, PT interface {
	*T
	store.Object
}](ctx context.Context, st *store.Store, a Actor, kind, what string, key func(string, string) string, ref string) (PT, error) {
	obj := PT(new(T))
	err := st.Get(ctx, kind, ref, obj)
	if err == nil && a.owns(obj.GetMeta()) {
		return obj, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	obj, err = byName[T, PT](ctx, st, kind, key(a.orgOf(), ref))
	if errors.Is(err, store.ErrNotFound) || (err == nil && !a.owns(obj.GetMeta())) {
		return nil, notFoundErr(what, ref)
	}
	return obj, err
}
