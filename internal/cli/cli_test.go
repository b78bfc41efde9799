package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

func TestSettingsPrecedence(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("WHARF_ADDR", "")
	t.Setenv("WHARF_TOKEN", "")
	t.Setenv("WHARF_CACERT", "")
	p, err := SaveConfig(Config{Addr: "https://file:1", Token: "file-token"})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	cases := []struct {
		name      string
		flag, env string
		wantAddr  string
		wantToken string
	}{
		{"file only", "", "", "https://file:1", "file-token"},
		{"env beats file", "", "https://env:2", "https://env:2", "file-token"},
		{"flag beats env", "https://flag:3", "https://env:2", "https://flag:3", "file-token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("WHARF_ADDR", c.env)
			g := &globals{addr: c.flag}
			o, err := g.resolve()
			if err != nil {
				t.Fatal(err)
			}
			if o.Addr != c.wantAddr || o.Token != c.wantToken {
				t.Fatalf("resolved %q/%q, want %q/%q", o.Addr, o.Token, c.wantAddr, c.wantToken)
			}
		})
	}
	t.Run("missing CA file is an error naming it", func(t *testing.T) {
		g := &globals{cacert: filepath.Join(t.TempDir(), "nope.crt")}
		if _, err := g.resolve(); err == nil || !strings.Contains(err.Error(), "nope.crt") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestPrintListFormats(t *testing.T) {
	rows := []row{
		{id: "c1", cells: []string{"c1", "web-1", "Running"}, obj: containerView{Container: api.Container{Meta: api.Meta{ID: "c1", Name: "web-1"}}, State: "Running", Node: "n1"}},
		{id: "c2", cells: []string{"c2", "web-2", "Pending"}, obj: containerView{Container: api.Container{Meta: api.Meta{ID: "c2", Name: "web-2"}}, State: "Pending"}},
	}
	header := []string{"ID", "NAME", "STATE"}
	render := func(f listFlags) string {
		var b bytes.Buffer
		if err := printList(&b, f, header, rows); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if got := render(listFlags{quiet: true}); got != "c1\nc2\n" {
		t.Errorf("-q printed %q", got)
	}
	table := render(listFlags{})
	if !strings.HasPrefix(table, "ID") || !strings.Contains(table, "web-2") || strings.Count(table, "\n") != 3 {
		t.Errorf("table:\n%s", table)
	}
	var objs []map[string]any
	if err := json.Unmarshal([]byte(render(listFlags{format: "json"})), &objs); err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0]["id"] != "c1" || objs[0]["name"] != "web-1" || objs[0]["state"] != "Running" || objs[0]["node"] != "n1" {
		t.Errorf("json objects: %v", objs)
	}
	if got := render(listFlags{format: "{{.name}}={{.state}}"}); got != "web-1=Running\nweb-2=Pending\n" {
		t.Errorf("template printed %q", got)
	}
	if got := render(listFlags{format: "{{.ID}} {{.Name}}={{.State}}"}); got != "c1 web-1=Running\nc2 web-2=Pending\n" {
		t.Errorf("template with Go names printed %q", got)
	}
	var b bytes.Buffer
	if err := printList(&b, listFlags{format: "{{.name"}, header, rows); err == nil || !strings.Contains(err.Error(), "--format") {
		t.Errorf("a bad template: %v", err)
	}
}

func TestGoNames(t *testing.T) {
	type inner struct {
		ExitCode *int `json:"exit_code,omitempty"`
		HostPort int  `json:"host_port"`
	}
	type obj struct {
		api.Meta
		Status inner             `json:"status"`
		Labels map[string]string `json:"labels"`
		List   []inner           `json:"list"`
	}
	code := 3
	o := obj{Meta: api.Meta{ID: "x1", Name: "web-1"}, Status: inner{ExitCode: &code}, Labels: map[string]string{"zone": "a"},
		List: []inner{{HostPort: 80}}}
	var buf bytes.Buffer
	rows := []row{{id: "x1", obj: o}}
	if err := printList(&buf, listFlags{format: "{{.ID}} {{.Name}} {{.Status.ExitCode}} {{.status.exit_code}} {{(index .List 0).HostPort}} {{.Labels}}"}, nil, rows); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "x1 web-1 3 3 80 map[zone:a]\n"; got != want {
		t.Errorf("template printed %q, want %q (label keys are the user's, not renamed)", got, want)
	}
}

func TestParseLabels(t *testing.T) {
	got, err := parseLabels([]string{"zone=a", "ssd=", "x=y=z"})
	if err != nil || got["zone"] != "a" || got["ssd"] != "" || got["x"] != "y=z" {
		t.Fatalf("parseLabels = %v, %v", got, err)
	}
	for _, bad := range []string{"novalue", "=v"} {
		if _, err := parseLabels([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
