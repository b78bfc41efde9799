package etcdtest

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// EnableAuth turns authentication on in the etcd that admin (a client
// without credentials) reaches, with a root user and a user whose role may
// read and write only the keys under prefix, as an operator would set one
// up for Wharf.
func EnableAuth(ctx context.Context, admin *clientv3.Client, prefix, user, password string) error {
	for _, step := range []func() error{
		func() error { _, err := admin.UserAdd(ctx, "root", "root-pw"); return err },
		func() error { _, err := admin.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := admin.RoleAdd(ctx, user); return err },
		func() error {
			_, err := admin.RoleGrantPermission(ctx, user, prefix, clientv3.GetPrefixRangeEnd(prefix), clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := admin.UserAdd(ctx, user, password); return err },
		func() error { _, err := admin.UserGrantRole(ctx, user, user); return err },
		func() error { _, err := admin.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}
