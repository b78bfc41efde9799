package api

// Image is one tag (or one untagged manifest) of a repository of the
// built-in registry: a row of GET /v1/images.
type Image struct {
	// Repository is "<org>/<name>", as pushed ("<registry host>/" before
	// it makes the image's full name).
	Repository string `json:"repository"`
	// Tag is "" for a manifest no tag points at.
	Tag string `json:"tag,omitempty"`
	// Digest is the manifest's digest ("sha256:...").
	Digest string `json:"digest"`
	// Size is the bytes of the manifest's config and layers (0 for a
	// multi-platform index).
	Size int64 `json:"size,omitempty"`
}

// ImageList is GET /v1/images: the images of the caller's organization,
// by repository then tag.
type ImageList struct {
	Items []Image `json:"items"`
}

// ImageGCResult is what POST /v1/images/gc did.
type ImageGCResult struct {
	// BlobsBefore and BlobsAfter count the stored blobs (layers, configs
	// and manifests of every organization).
	BlobsBefore int `json:"blobs_before"`
	BlobsAfter  int `json:"blobs_after"`
}
