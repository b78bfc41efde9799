package apiserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/internal/errdefs"
)

// decode reads a request body into dst: exactly one JSON value, no unknown
// fields, at most MaxBodyBytes. With optional, an empty body leaves dst as it
// is. Every failure is a 400 (or 413) that says what is wrong.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, dst any, optional bool) error {
	var body bytes.Buffer // a copy, to say where an unknown field is
	dec := json.NewDecoder(io.TeeReader(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), &body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if optional && errors.Is(err, io.EOF) {
			return nil
		}
		err = s.decodeError(err)
		var fe *errdefs.FieldError
		if errors.As(err, &fe) && strings.HasPrefix(fe.Message, "unknown field") {
			fe.Field = unknownFieldPath(body.Bytes(), reflect.TypeOf(dst), fe.Field)
		}
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return s.decodeError(err)
		}
		return newErr(errdefs.ErrInvalid, "the request body has more data after its JSON value; send exactly one JSON object")
	}
	return nil
}

// decodeError explains a JSON decoding failure.
func (s *Server) decodeError(err error) error {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		ute *json.UnmarshalTypeError
		ne  net.Error
	)
	switch {
	case errors.As(err, &mbe):
		return newErr(errTooLarge, "the request body is larger than the limit of %d bytes", s.cfg.MaxBodyBytes)
	case errors.As(err, &ne) && ne.Timeout():
		return newErr(errdefs.ErrInvalid, "the request body did not arrive within the server's read timeout; send it at once")
	case errors.Is(err, io.EOF):
		return newErr(errdefs.ErrInvalid, "the request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return newErr(errdefs.ErrInvalid, "malformed JSON: the request body ends in the middle of a value")
	case errors.As(err, &se):
		return newErr(errdefs.ErrInvalid, "malformed JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.As(err, &ute):
		if ute.Field == "" {
			return newErr(errdefs.ErrInvalid, "the request body must be a JSON object, not a JSON %s", ute.Value)
		}
		return errdefs.Invalid(ute.Field, "wrong type: expected %s, got a JSON %s", typeName(ute.Type.String()), ute.Value)
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name, uerr := strconv.Unquote(rest)
		if uerr != nil {
			name = rest
		}
		return errdefs.Invalid(name, "unknown field %q", name) // decode looks for this prefix
	}
	return newErr(errdefs.ErrInvalid, "cannot decode the request body: %s", strings.TrimPrefix(msg, "json: "))
}

// typeName words a Go type for a user who sent JSON.
func typeName(t string) string {
	t = strings.TrimLeft(t, "*")
	switch {
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map["), strings.Contains(t, "."):
		return "an object"
	}
	return t
}

// unknownFieldPath finds where an unknown field named name sits in body,
// decoded for type t: its dotted path, such as "spec.imag". It falls back
// to name.
func unknownFieldPath(body []byte, t reflect.Type, name string) string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return name
	}
	if p, ok := findUnknown(v, t, "", name); ok {
		return p
	}
	return name
}

func findUnknown(v any, t reflect.Type, path, name string) (string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			p := k
			if path != "" {
				p = path + "." + k
			}
			var elem reflect.Type
			switch t.Kind() {
			case reflect.Struct:
				f, ok := jsonField(t, k)
				if !ok {
					if k == name {
						return p, true
					}
					continue
				}
				elem = f.Type
			case reflect.Map:
				elem = t.Elem()
			default:
				return "", false
			}
			if r, ok := findUnknown(x[k], elem, p, name); ok {
				return r, true
			}
		}
	case []any:
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
			return "", false
		}
		for i, e := range x {
			if r, ok := findUnknown(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), name); ok {
				return r, true
			}
		}
	}
	return "", false
}

// jsonField finds the field of struct t that JSON key k decodes into, as
// encoding/json does (tag name or field name, case-insensitively, through
// embedded structs).
func jsonField(t reflect.Type, k string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && tag == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if sf, ok := jsonField(ft, k); ok {
					return sf, true
				}
				continue
			}
		}
		if tag == "" {
			tag = f.Name
		}
		if strings.EqualFold(tag, k) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
