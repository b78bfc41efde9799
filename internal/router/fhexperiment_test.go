package router

import "testing"

// TestFastHTTPExperimentParity runs the router's HTTP tests on the fasthttp
// experiment (Config.FastHTTP): routing, balancing, retries and replays,
// forwarding and hop-by-hop headers, streaming, trailers, metrics and the
// access log behave as on the net/http path. The tests it does not pass
// are listed in docs/routing.md ("The fasthttp experiment").
func TestFastHTTPExperimentParity(t *testing.T) {
	t.Setenv("WHARF_ROUTER_TEST_FASTHTTP", "1")
	for name, test := range map[string]func(*testing.T){
		"RoundRobinSpreadsEvenly":                TestRoundRobinSpreadsEvenly,
		"SourceBalanceKeepsAClientOnOneBackend":  TestSourceBalanceKeepsAClientOnOneBackend,
		"LeastConnAvoidsBusyBackend":             TestLeastConnAvoidsBusyBackend,
		"StickyCookie":                           TestStickyCookie,
		"ConnectFailureRetriesAnotherBackend":    TestConnectFailureRetriesAnotherBackend,
		"AllBackendsRefusingIs503":               TestAllBackendsRefusingIs503,
		"FailureAfterConnectIsNotRetried":        TestFailureAfterConnectIsNotRetried,
		"WaitsForABackendThatJustStarted":        TestWaitsForABackendThatJustStarted,
		"ReplayableRequestLeavesADeadBackend":    TestReplayableRequestLeavesADeadBackend,
		"ReusesBackendConnections":               TestFastPathReusesBackendConnections,
		"RetriesWhenBackendClosedIdleConnection": TestFastPathRetriesWhenBackendClosedIdleConnection,
		"BackendConnectionClose":                 TestFastPathBackendConnectionClose,
		"ChunkedBodiesAndTrailers":               TestFastPathChunkedBodiesAndTrailers,
		"StreamsResponses":                       TestFastPathStreamsResponses,
		"BodilessResponses":                      TestFastPathBodilessResponses,
		"RemovesHopByHopHeaders":                 TestFastPathRemovesHopByHopHeaders,
		"HealthCheckTakesBackendOut":             TestHealthCheckTakesBackendOut,
		"ProxyProtocolFromTrustedProxies":        TestProxyProtocolFromTrustedProxies,
		"HTTPRoutingByHostAndPath":               TestHTTPRoutingByHostAndPath,
		"HTTPNoRouteAndNoBackend":                TestHTTPNoRouteAndNoBackend,
		"TLSRoutesOnlyOnHTTPSAndForceSSL":        TestTLSRoutesOnlyOnHTTPSAndForceSSL,
		"ApplySwapsWithoutDroppingConnections":   TestApplySwapsWithoutDroppingConnections,
		"RouterFalseClosesListeners":             TestRouterFalseClosesListeners,
		"ForwardingHeaders":                      TestForwardingHeaders,
		"ForwardingHeadersIPv6Client":            TestForwardingHeadersIPv6Client,
		"MetricsAndAccessLog":                    TestMetricsAndAccessLog,
		"CloseLetsRequestsFinish":                TestCloseLetsRequestsFinish,
		"RedirectYieldsToPlainRoute":             TestRedirectYieldsToPlainRoute,
	} {
		t.Run(name, test)
	}
}
