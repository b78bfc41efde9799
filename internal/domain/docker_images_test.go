package domain

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// tagStore is a built-in registry of tags only ("repo:tag" to digest).
type tagStore map[string]string

func (s tagStore) Repositories(context.Context, string) ([]string, error) { return nil, nil }
func (s tagStore) Images(context.Context, string) ([]api.Image, error)    { return nil, nil }
func (s tagStore) TagDigest(_ context.Context, repo, tag string) (string, error) {
	return s[repo+":"+tag], nil
}
func (s tagStore) Remove(context.Context, string, string, string) error { return nil }
func (s tagStore) GC(context.Context, bool) (api.ImageGCResult, error) {
	return api.ImageGCResult{}, nil
}

func TestResolveImage(t *testing.T) {
	dgst := "sha256:" + strings.Repeat("d", 64)
	d := newTestDomain(t, func(c *Config) {
		c.Images = tagStore{"default/app:v1": dgst}
		c.RegistryHost = "reg.test:5000"
	})
	ctx := context.Background()
	if got, err := d.ResolveImage(ctx, reader, "reg.test:5000/default/app:v1"); err != nil || got != dgst {
		t.Errorf("a built-in registry tag: %q, %v", got, err)
	}
	if _, err := d.ResolveImage(ctx, reader, "reg.test:5000/default/app:v2"); !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "wharf image ls") {
		t.Errorf("a missing tag: %v", err)
	}
	if _, err := d.ResolveImage(ctx, reader, "reg.test:5000/other/app:v1"); err == nil {
		t.Error("another organization's repository resolved")
	}
	if got, err := d.ResolveImage(ctx, reader, "x/app@"+dgst); err != nil || got != dgst {
		t.Errorf("by digest: %q, %v", got, err)
	}
	if _, err := d.ResolveImage(ctx, reader, "busybox:1"); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("with no resolver: %v", err)
	}
	if _, err := d.ResolveImage(ctx, reader, "a b"); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("a bad reference: %v", err)
	}
	if _, err := d.ResolveImage(ctx, Actor{Name: "nobody", Org: DefaultOrg}, "reg.test:5000/default/app:v1"); !errors.Is(err, errdefs.ErrForbidden) {
		t.Errorf("an actor without registry pull: %v", err)
	}
}

func TestCheckVolumeName(t *testing.T) {
	d := newTestDomain(t)
	if err := d.CheckVolumeName(deployer, "proj_data"); err != nil {
		t.Error(err)
	}
	if err := d.CheckVolumeName(deployer, "/etc"); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("a path: %v", err)
	}
	if err := d.CheckVolumeName(reader, "data"); !errors.Is(err, errdefs.ErrForbidden) {
		t.Errorf("a read-only actor: %v", err)
	}
}

func TestCreateNetworkAnySubnet(t *testing.T) {
	d := newTestDomain(t)
	ctx := context.Background()
	a, err := d.CreateNetworkAnySubnet(ctx, deployer, "proj-default")
	if err != nil || a.Subnet != "10.8.0.0/16" {
		t.Fatalf("first: %+v, %v", a, err)
	}
	b, err := d.CreateNetworkAnySubnet(ctx, deployer, "other")
	if err != nil || b.Subnet != "10.9.0.0/16" {
		t.Fatalf("second: %+v, %v", b, err)
	}
	if _, err := d.CreateNetworkAnySubnet(ctx, deployer, "other"); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("a taken name: %v", err)
	}
	if _, err := d.CreateNetworkAnySubnet(ctx, reader, "ro"); !errors.Is(err, errdefs.ErrForbidden) {
		t.Errorf("a read-only actor: %v", err)
	}
	if _, err := d.CreateNetworkAnySubnet(ctx, deployer, "Bad_Name"); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("a bad name: %v", err)
	}
}
