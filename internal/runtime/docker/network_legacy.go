package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/moby/moby/client"
)

// Engines below API 1.44 ignore a container's per-network MAC address
// (network.EndpointSettings.MacAddress) and take one MacAddress in the
// container's configuration instead, for the network of its NetworkMode.
// The client's types no longer have that field, so on those engines the
// driver creates containers with networks through a second client whose
// transport copies the primary network's MAC into the request's
// configuration: the rest of the request and the engine's answers (errors
// included) are the client's as usual.

// legacyClient is the client that creates containers on an engine below
// API 1.44; nil until the first such create.
type legacyClient struct {
	once sync.Once
	cli  *client.Client
	err  error
}

// createClient returns the client to create a container with networks
// on: the driver's own, or on an engine below API 1.44 one that sets the
// MAC in the container's configuration.
func (d *Driver) createClient(withNetworks bool) (*client.Client, error) {
	if !withNetworks || !d.legacyMAC() {
		return d.cli, nil
	}
	d.legacy.once.Do(func() {
		dial := d.cli.Dialer() // the engine's connection, TLS included
		tr := &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		}
		d.legacy.cli, d.legacy.err = client.New(
			client.WithHost(d.cli.DaemonHost()),
			client.WithScheme("http"), // TLS, if any, is in the dialer's connection
			client.WithAPIVersion(d.cli.ClientVersion()),
			client.WithHTTPClient(&http.Client{Transport: macTransport{base: tr}}),
		)
	})
	if d.legacy.err != nil {
		return nil, fmt.Errorf("docker driver: a client for API %s: %w", d.cli.ClientVersion(), d.legacy.err)
	}
	return d.legacy.cli, nil
}

// macTransport puts the primary network's MAC address into the
// configuration of every container create it carries.
type macTransport struct{ base http.RoundTripper }

func (t macTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || !strings.HasSuffix(req.URL.Path, "/containers/create") || req.Body == nil {
		return t.base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read the container create request: %w", err)
	}
	if body, err = withConfigMAC(body); err != nil {
		return nil, err
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	out.ContentLength = int64(len(body))
	return t.base.RoundTrip(out)
}

// withConfigMAC returns the container create request body with the MAC
// address of the endpoint of its NetworkMode's network as the
// configuration's MacAddress; the body as it is if there is none.
func withConfigMAC(body []byte) ([]byte, error) {
	var req struct {
		HostConfig struct {
			NetworkMode string
		}
		NetworkingConfig struct {
			EndpointsConfig map[string]struct {
				MacAddress string
			}
		}
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("decode the container create request: %w", err)
	}
	mac := req.NetworkingConfig.EndpointsConfig[req.HostConfig.NetworkMode].MacAddress
	if mac == "" {
		return body, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, fmt.Errorf("decode the container create request: %w", err)
	}
	fields["MacAddress"], _ = json.Marshal(mac) // a string always marshals
	return json.Marshal(fields)
}
