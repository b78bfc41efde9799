package build

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/wharfhq/wharf/internal/compose"
)

// hashVersion starts every hash: a change of what is hashed changes it,
// so that no old tag is taken for a new context.
const hashVersion = "wharf build context v1"

// outsideDockerfile is the name, in the context sent to the engine, of a
// Dockerfile that lies outside the context directory.
const outsideDockerfile = ".wharf.Dockerfile"

// entry is one file, directory or symlink of a build context.
type entry struct {
	Path string      `json:"path"` // slash-separated, relative to the context
	Mode fs.FileMode `json:"mode"` // type and permission bits
	Size int64       `json:"size,omitempty"`
	Link string      `json:"link,omitempty"` // a symlink's target
	Sum  string      `json:"sha256,omitempty"`
	abs  string      // where to read it
}

// buildContext is a context as hashed and as sent to the engine.
type buildContext struct {
	entries    []entry
	dockerfile string // its name in the context sent
	hash       string // hex sha256
}

// Tag is the tag of b's image: the first 32 hex digits of its hash.
func (c *buildContext) Tag() string { return c.hash[:32] }

// hashContext walks b's context (without what .dockerignore excludes; the
// Dockerfile and .dockerignore are always kept, as Docker does) and hashes
// every path, mode, size, content and link target, then the Dockerfile's
// name, the target and the arguments. Times and owners are left out: a
// fresh checkout of the same files hashes the same.
func hashContext(b *compose.Build) (*buildContext, error) {
	// A context given through a symlink is the directory it names.
	root, err := filepath.EvalSymlinks(b.Context)
	if err != nil {
		return nil, fmt.Errorf("the build context: %w", err)
	}
	pm, err := ignore(root)
	if err != nil {
		return nil, err
	}
	df := b.Dockerfile
	if !filepath.IsAbs(df) {
		df = filepath.Join(root, df)
	}
	if df, err = filepath.EvalSymlinks(df); err != nil {
		return nil, fmt.Errorf("the Dockerfile: %w", err)
	}
	c := &buildContext{}
	rel, err := filepath.Rel(root, df)
	inside := err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
	if inside {
		c.dockerfile = filepath.ToSlash(rel)
	} else {
		c.dockerfile = outsideDockerfile
	}
	keep := map[string]bool{".dockerignore": true, c.dockerfile: true}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read the build context: %w", err)
		}
		if p == root {
			return nil
		}
		r, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		r = filepath.ToSlash(r)
		if !keep[r] && pm != nil {
			excluded, err := pm.MatchesOrParentMatches(r)
			if err != nil {
				return fmt.Errorf(".dockerignore: %w", err)
			}
			if excluded {
				// Into an excluded directory only for what may be kept
				// there: exceptions (!pattern) or the Dockerfile.
				if d.IsDir() && !pm.Exclusions() && !strings.HasPrefix(c.dockerfile, r+"/") {
					return filepath.SkipDir
				}
				return nil
			}
		}
		e, err := newEntry(p, r)
		if err != nil || e == nil {
			return err
		}
		c.entries = append(c.entries, *e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !inside {
		e, err := newEntry(df, outsideDockerfile)
		if err != nil {
			return nil, fmt.Errorf("the Dockerfile: %w", err)
		}
		c.entries = append(c.entries, *e)
	}
	sort.Slice(c.entries, func(i, j int) bool { return c.entries[i].Path < c.entries[j].Path })
	h := sha256.New()
	enc := json.NewEncoder(h)
	args := make([][2]string, 0, len(b.Args))
	for k, v := range b.Args {
		args = append(args, [2]string{k, v})
	}
	sort.Slice(args, func(i, j int) bool { return args[i][0] < args[j][0] })
	if err := enc.Encode(struct {
		Version    string      `json:"v"`
		Dockerfile string      `json:"dockerfile"`
		Target     string      `json:"target"`
		Args       [][2]string `json:"args"`
	}{hashVersion, c.dockerfile, b.Target, args}); err != nil {
		return nil, err
	}
	for _, e := range c.entries {
		if err := enc.Encode(e); err != nil {
			return nil, err
		}
	}
	c.hash = hex.EncodeToString(h.Sum(nil))
	return c, nil
}

// ignore reads root/.dockerignore; nil when there is none.
func ignore(root string) (*patternmatcher.PatternMatcher, error) {
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	return pm, nil
}

// newEntry describes the file at p, named r in the context; nil for what a
// context cannot hold (sockets, devices, pipes).
func newEntry(p, r string) (*entry, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	e := &entry{Path: r, Mode: fi.Mode() & (fs.ModeType | fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky), abs: p}
	switch {
	case fi.Mode().IsRegular():
		e.Size = fi.Size()
		if e.Sum, err = fileSum(p); err != nil {
			return nil, err
		}
	case fi.IsDir():
	case fi.Mode()&fs.ModeSymlink != 0:
		if e.Link, err = os.Readlink(p); err != nil {
			return nil, err
		}
	default:
		return nil, nil
	}
	return e, nil
}

func fileSum(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeTar writes the context as a tar for the engine: the entries that
// were hashed, owned by root. A file that changed since it was hashed
// fails it: the image would not be what its tag says.
func (c *buildContext) writeTar(w io.Writer) error {
	tw := tar.NewWriter(w)
	for _, e := range c.entries {
		fi, err := os.Lstat(e.abs)
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(fi, e.Link)
		if err != nil {
			return err
		}
		hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = e.Path, 0, 0, "", ""
		if fi.IsDir() {
			hdr.Name += "/"
		}
		if fi.Mode().IsRegular() {
			hdr.Size = e.Size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		if err := copyChecked(tw, e); err != nil {
			return err
		}
	}
	return tw.Close()
}

// copyChecked copies e's file, failing when its content is not what was
// hashed.
func copyChecked(w io.Writer, e entry) error {
	f, err := os.Open(e.abs)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(f, e.Size))
	if err != nil {
		return err
	}
	if n != e.Size || hex.EncodeToString(h.Sum(nil)) != e.Sum {
		return fmt.Errorf("%s changed while the build context was sent; deploy again", e.Path)
	}
	return nil
}
