package agentcmd

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// joinTokenEnv is the environment variable that may carry the agent's join
// token. A process's environment is readable only by its own user (and
// root), unlike its command line.
const joinTokenEnv = "WHARF_JOIN_TOKEN"

// resolveToken picks the join token's source, first found wins: --token,
// --token-file, $WHARF_JOIN_TOKEN, token_file and then token in the config
// file. It sets the Joined hook that drops a token: line from the config
// file once the agent has joined.
func (o *agentFlags) resolveToken(f *pflag.FlagSet, file agentFile) {
	switch {
	case f.Changed("token") && o.cfg.JoinToken != "":
		o.cfg.JoinTokenFile = ""
	case f.Changed("token-file") && o.cfg.JoinTokenFile != "":
	case os.Getenv(joinTokenEnv) != "":
		o.cfg.JoinToken, o.cfg.JoinTokenFile = os.Getenv(joinTokenEnv), ""
	case file.TokenFile != "":
		o.cfg.JoinTokenFile = file.TokenFile
	case file.Token != "":
		o.cfg.JoinToken = file.Token
	}
	if file.Token != "" && o.configPath != "" {
		path := o.configPath
		o.cfg.Joined = func() {
			if err := dropConfigToken(path); err != nil {
				o.cfg.Logger.Warn("cannot remove the join token from the agent config file; remove its token: line by hand, the agent no longer needs it", "file", path, "err", err)
				return
			}
			o.cfg.Logger.Info("joined: removed the join token from the agent config file", "file", path)
		}
	}
}

// dropConfigToken rewrites the agent config file at path without its token
// key, keeping every other key (and its comments) and the file's mode.
func dropConfigToken(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return fmt.Errorf("%s: not a YAML mapping", path)
	}
	m := doc.Content[0]
	found := false
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "token" {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			found = true
			break
		}
	}
	if !found {
		return nil
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(out.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
