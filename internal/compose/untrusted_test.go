package compose

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUntrustedInterpolation: the variables given and defaults are used;
// the process's environment and a .env of the current directory are
// not; a variable without value or default is an error naming it and its
// line.
func TestUntrustedInterpolation(t *testing.T) {
	t.Setenv("WHARF_T_SERVER_SECRET", "server-value")
	dir := t.TempDir()
	write(t, dir, ".env", "WHARF_T_DOTENV=dotenv-value\n")
	t.Chdir(dir)
	ctx := context.Background()

	st, err := LoadUntrusted(ctx, "compose.yml", "shop", []byte("services:\n  web:\n    image: nginx:${TAG}\n    environment:\n      A: ${WHARF_T_SERVER_SECRET:-fallback}\n      B: ${MODE:-x}\n"),
		map[string]string{"TAG": "1.27", "MODE": "prod"})
	if err != nil {
		t.Fatal(err)
	}
	spec := st.Services[0].Spec
	if spec.Image != "nginx:1.27" || spec.Env["A"] != "fallback" || spec.Env["B"] != "prod" {
		t.Errorf("image %q env %v: want nginx:1.27, A=fallback (not the server's), B=prod", spec.Image, spec.Env)
	}

	for _, v := range []string{"WHARF_T_SERVER_SECRET", "WHARF_T_DOTENV"} {
		_, err = LoadUntrusted(ctx, "compose.yml", "shop", []byte("services:\n  web:\n    image: nginx\n    environment:\n      A: ${"+v+"}\n"), nil)
		if err == nil || !strings.Contains(err.Error(), "compose.yml:5: variable "+v+" is not set") {
			t.Errorf("${%s}: %v; want an error naming it at line 5", v, err)
		}
		if err != nil && strings.Contains(err.Error(), "value") && strings.Contains(err.Error(), "-value") {
			t.Errorf("the error shows the server's value: %v", err)
		}
	}
	// A bare name in environment: takes its value from the variables
	// given only.
	st, err = LoadUntrusted(ctx, "compose.yml", "shop", []byte("services:\n  web:\n    image: nginx\n    environment:\n      - WHARF_T_SERVER_SECRET\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := st.Services[0].Spec.Env["WHARF_T_SERVER_SECRET"]; ok && v != "" {
		t.Errorf("environment: [NAME] took the server's value %q", v)
	}
}

// TestUntrustedRefusals: every key that would read a file of the server's
// is refused with its key, its line and the way out; none is read.
func TestUntrustedRefusals(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "server.txt")
	if err := os.WriteFile(secret, []byte("WHARF_T_LEAK=leaked-from-server\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "base.yml", "services:\n  b:\n    image: leaked-from-server\n")
	cases := []struct {
		name, text, want string
	}{
		{"env_file", "services:\n  web:\n    image: nginx\n    env_file: " + secret + "\n", "compose.yml:4: services.web.env_file: reading variables"},
		{"env_file /etc/hostname", "services:\n  web:\n    image: nginx\n    env_file: /etc/hostname\n", "compose.yml:4: services.web.env_file"},
		{"env_file long", "services:\n  web:\n    image: nginx\n    env_file:\n      - path: " + secret + "\n", "services.web.env_file"},
		{"env_file by merge", "x-base: &b\n  env_file: " + secret + "\nservices:\n  web:\n    <<: *b\n    image: nginx\n", "env_file: reading variables"},
		{"label_file", "services:\n  web:\n    image: nginx\n    label_file: " + secret + "\n", "services.web.label_file"},
		{"include", "include:\n  - " + filepath.Join(dir, "base.yml") + "\nservices:\n  web:\n    image: nginx\n", "compose.yml:1: include: include"},
		{"extends file", "services:\n  web:\n    extends:\n      file: " + filepath.Join(dir, "base.yml") + "\n      service: b\n", "compose.yml:4: services.web.extends.file"},
		{"build", "services:\n  web:\n    build: .\n", "compose.yml:3: services.web.build: build:"},
		{"secret file", "services:\n  web:\n    image: nginx\nsecrets:\n  s:\n    file: " + secret + "\n", "compose.yml:6: secrets.s.file"},
		{"secret environment", "services:\n  web:\n    image: nginx\nsecrets:\n  s:\n    environment: HOME\n", "secrets.s.environment: a value from the server's environment"},
		{"config file", "services:\n  web:\n    image: nginx\nconfigs:\n  c:\n    file: /etc/passwd\n", "configs.c.file"},
		{"relative bind", "services:\n  web:\n    image: nginx\n    volumes:\n      - ./data:/data\n", `compose.yml:5: services.web.volumes.0: bind mount "./data": a relative host path is refused`},
		{"home bind", "services:\n  web:\n    image: nginx\n    volumes:\n      - type: bind\n        source: ~/x\n        target: /x\n", `bind mount "~/x"`},
		{"unset", "services:\n  web:\n    image: ${NOPE}\n", "compose.yml:3: variable NOPE is not set"},
		{"empty", "  \n", "the compose file is empty"},
		{"second document", "services:\n  web:\n    image: nginx\n---\nservices:\n  web:\n    env_file: /etc/hostname\n", "must be one YAML document"},
		{"alias key", "x-k: &k env_file\nservices:\n  web:\n    image: nginx\n    *k : /etc/hostname\n", "services.web.env_file"},
		{"reset tag", "services:\n  web:\n    image: nginx\n    env_file: !reset /etc/hostname\n", "services.web.env_file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := LoadUntrusted(context.Background(), "/some/dir/compose.yml", "shop", []byte(c.text), nil)
			if err == nil {
				t.Fatalf("loaded: %+v", st)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q; want it to contain %q", msg, c.want)
			}
			if strings.Contains(msg, "leaked-from-server") || strings.Contains(msg, "/some/dir") {
				t.Errorf("the error shows a server's file or path: %q", msg)
			}
			if strings.Contains(c.name, "file") || c.name == "build" || c.name == "include" {
				if !strings.Contains(msg, "wharf stack deploy") {
					t.Errorf("error %q does not say to use wharf stack deploy", msg)
				}
			}
		})
	}
}

// TestUntrustedAccepts: what needs no file of the server's loads, with
// its warnings placed, named as given.
func TestUntrustedAccepts(t *testing.T) {
	text := "x-base: &b\n  image: nginx\nservices:\n  web:\n    <<: *b\n    cap_add: [NET_ADMIN]\n    volumes:\n      - data:/data\n      - /srv/www:/www:ro\n  api:\n    extends: web\n" +
		"volumes:\n  data: {}\nsecrets:\n  token:\n    external: true\n"
	st, err := LoadUntrusted(context.Background(), `C:\Users\me\shop.yml`, "Shop!", []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Services) != 2 || st.Services[0].Name != "api" || st.Services[0].Spec.Image != "nginx" {
		t.Fatalf("services %+v", st.Services)
	}
	if len(st.Services[1].Spec.Volumes) != 2 || st.Services[1].Spec.Volumes[1].Source != "/srv/www" {
		t.Errorf("volumes %+v", st.Services[1].Spec.Volumes)
	}
	if len(st.Secrets) != 1 || !st.Secrets[0].External {
		t.Errorf("secrets %+v", st.Secrets)
	}
	found := false
	for _, w := range st.Warnings {
		if w.File == "shop.yml" && w.Line == 6 && strings.Contains(w.Key, "cap_add") {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning for cap_add at shop.yml:6: %+v", st.Warnings)
	}
}

// FuzzLoadUntrusted feeds random bytes to LoadUntrusted: it must never
// panic.
func FuzzLoadUntrusted(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.yml")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := LoadUntrusted(context.Background(), "compose.yml", "fuzz", data, map[string]string{"TAG": "1"})
		if err == nil && st == nil {
			t.Fatal("nil stack without an error")
		}
	})
}
