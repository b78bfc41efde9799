package ui

// The built-in registry's images page: the repositories and tags of the
// organization (domain.ListImages, what `wharf image ls` shows) with each
// manifest's digest and size, and removing a tag or an untagged manifest
// (domain.RemoveImage, as `wharf image rm`) on a page of its own, by
// typing the image's reference. A server that runs no registry, or an
// actor who may not pull, sees the domain's refusal on the page.

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// imageRow is one tag (or untagged manifest) as the page shows it.
type imageRow struct {
	api.Image
	Ref  string // what removing it names: repo:tag, or repo@digest
	Size string
}

type imagesData struct {
	Images  []imageRow
	Host    string // the registry's host:port, for the pull names
	Refused string // the domain's refusal (no registry, no access)
	Removed string
}

// sizeText is a byte count for people ("12.3 MiB").
func sizeText(n int64) string {
	switch {
	case n <= 0:
		return ""
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}

// imageRef is how RemoveImage names im.
func imageRef(im api.Image) string {
	if im.Tag != "" {
		return im.Repository + ":" + im.Tag
	}
	return im.Repository + "@" + im.Digest
}

func (h *Handler) images(w http.ResponseWriter, r *http.Request, s *session) error {
	d := imagesData{Removed: r.URL.Query().Get("removed")}
	l, err := h.d.ListImages(r.Context(), s.actor)
	if err != nil {
		status, msg := statusOf(err)
		if status >= 500 && status != http.StatusServiceUnavailable {
			return err
		}
		d.Refused = msg // no registry on this server, or no pull access
	}
	for _, im := range l.Items {
		d.Images = append(d.Images, imageRow{Image: im, Ref: imageRef(im), Size: sizeText(im.Size)})
	}
	if d.Refused == "" {
		if info, err := h.d.RegistryInfo(r.Context(), s.actor); err == nil {
			d.Host = info.Host
		}
	}
	h.render(w, r, http.StatusOK, "images", s, "Images", d)
	return nil
}

// findImage is the image ref names among the organization's.
func (h *Handler) findImage(r *http.Request, s *session, ref string) (*imageRow, error) {
	l, err := h.d.ListImages(r.Context(), s.actor)
	if err != nil {
		return nil, err
	}
	for _, im := range l.Items {
		if imageRef(im) == ref {
			return &imageRow{Image: im, Ref: ref, Size: sizeText(im.Size)}, nil
		}
	}
	return nil, errf(errNotFound.kind, "no image %q in this organization's registry; it may have been removed already", ref)
}

func (h *Handler) confirmRemoveImage(w http.ResponseWriter, r *http.Request, s *session) error {
	im, err := h.findImage(r, s, r.URL.Query().Get("ref"))
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "image_remove", s, "Remove image "+im.Ref, im)
	return nil
}

// removeImage removes a tag (or an untagged manifest) once its reference
// was typed to confirm. The domain decides whether the actor may.
func (h *Handler) removeImage(w http.ResponseWriter, r *http.Request, s *session) error {
	ref := r.PostFormValue("ref")
	if got := strings.TrimSpace(r.PostFormValue("confirm")); got != ref {
		return invalid("confirm", "type the image's reference, %q, to confirm its removal (got %q)", ref, got)
	}
	if err := h.d.RemoveImage(r.Context(), s.actor, ref); err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/images?removed="+url.QueryEscape(ref), http.StatusSeeOther)
	return nil
}
