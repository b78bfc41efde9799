package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
)

// newServerUnlockCmd is `wharf server unlock`: it gives a locked server
// the unlock key, read from stdin or a file, never from the command line.
func newServerUnlockCmd(g *globals) *cobra.Command {
	var keyFile string
	cmd := &cobra.Command{
		Use:   "unlock",
		Short: "Unlock a server of a locked cluster (--autolock) after it restarted",
		Long: `Unlock a server of a locked cluster after it restarted: give it the unlock key
that was printed when the cluster was locked. The key is read from stdin, or from
--key-file; it is never taken on the command line. The server is the one in --addr
(or WHARF_ADDR, or the client config); its certificate is checked with --cacert.
Each server of a cluster on a shared etcd is unlocked on its own.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := readUnlockKey(cmd.InOrStdin(), keyFile)
			if err != nil {
				return err
			}
			o, err := g.resolve()
			if err != nil {
				return err
			}
			o.Token = "" // a locked server knows no tokens
			c, err := client.New(o)
			if err != nil {
				return err
			}
			err = c.Do(cmd.Context(), http.MethodPost, api.UnlockPath, api.UnlockRequest{UnlockKey: key}, nil)
			var ce *client.Error
			if errors.As(err, &ce) && (ce.Status == http.StatusNotFound || ce.Status == http.StatusUnauthorized || ce.Status == http.StatusMethodNotAllowed) {
				return fmt.Errorf("the server at %s is not locked", o.Addr)
			}
			if err != nil {
				return fmt.Errorf("unlock: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "unlocked")
			return nil
		},
	}
	cmd.Flags().StringVar(&keyFile, "key-file", "", "file holding the unlock key (default: read it from stdin)")
	return cmd
}

func readUnlockKey(stdin io.Reader, file string) (string, error) {
	var b []byte
	var err error
	if file != "" {
		b, err = os.ReadFile(file)
	} else {
		if f, ok := stdin.(*os.File); ok && isTerminal(f) {
			fmt.Fprint(os.Stderr, "Unlock key: ")
		}
		var line string
		line, err = bufio.NewReader(io.LimitReader(stdin, 4<<10)).ReadString('\n')
		if errors.Is(err, io.EOF) {
			err = nil
		}
		b = []byte(line)
	}
	if err != nil {
		return "", fmt.Errorf("read the unlock key: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", errors.New("no unlock key: pipe it on stdin or give --key-file")
	}
	return key, nil
}
