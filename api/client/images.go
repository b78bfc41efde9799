package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/wharfhq/wharf/api"
)

// RegistryInfo says where the server's built-in registry is reached.
func (c *Client) RegistryInfo(ctx context.Context) (api.RegistryInfo, error) {
	var info api.RegistryInfo
	return info, c.Do(ctx, http.MethodGet, "/v1/registry", nil, &info)
}

// Images lists the built-in registry's images of the organization.
func (c *Client) Images(ctx context.Context) ([]api.Image, error) {
	var l api.ImageList
	return l.Items, c.Do(ctx, http.MethodGet, "/v1/images", nil, &l)
}

// RemoveImage removes "<org>/<repo>:<tag>" or "<org>/<repo>@<digest>"
// from the built-in registry.
func (c *Client) RemoveImage(ctx context.Context, ref string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/images?ref="+url.QueryEscape(ref), nil, nil)
}

// CollectImageGarbage removes the built-in registry's unreferenced blobs
// (and, with untagged, its untagged manifests).
func (c *Client) CollectImageGarbage(ctx context.Context, untagged bool) (api.ImageGCResult, error) {
	var res api.ImageGCResult
	path := "/v1/images/gc"
	if untagged {
		path += "?untagged=1"
	}
	return res, c.Do(ctx, http.MethodPost, path, nil, &res)
}
