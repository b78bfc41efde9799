package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// Config is the client config file: $XDG_CONFIG_HOME/wharf/config.yaml
// (mode 0600). Flags beat environment variables, which beat this file.
type Config struct {
	Addr   string `yaml:"addr"`
	Token  string `yaml:"token"`
	CACert string `yaml:"cacert"` // path of the cluster CA's PEM file
	// Org is the current organization (`wharf org use`), sent as the
	// Wharf-Org header; "" lets the server choose.
	Org string `yaml:"org,omitempty"`
	// UpDataDir is the data dir of the cluster `wharf up` last ran, where
	// `wharf down` looks first.
	UpDataDir string `yaml:"up_data_dir,omitempty"`
}

// ConfigPath is where the client config lives.
func ConfigPath() (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the config directory: set XDG_CONFIG_HOME or HOME: %w", err)
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "wharf", "config.yaml"), nil
}

// LoadConfig reads the config file; a missing file is an empty config.
func LoadConfig() (Config, error) {
	var c Config
	p, err := ConfigPath()
	if err != nil {
		return c, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read %s: %w", p, err)
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("config %s is not valid YAML: %w", p, err)
	}
	return c, nil
}

// SaveConfig writes the config file with mode 0600.
func SaveConfig(c Config) (string, error) {
	p, err := ConfigPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", err
	}
	b, err := yaml.Marshal(c)
	if err != nil {
		return "", err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return "", err
	}
	return p, os.Rename(tmp, p)
}
