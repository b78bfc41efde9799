package api

import (
	"reflect"
	"strings"
	"testing"
)

func TestParsePublish(t *testing.T) {
	tcp := func(h, c int) PortSpec { return PortSpec{ContainerPort: c, HostPort: h} }
	for _, tc := range []struct {
		in   string
		want []PortSpec
	}{
		{"80", []PortSpec{tcp(0, 80)}},
		{"8080:80", []PortSpec{tcp(8080, 80)}},
		{"0:80", []PortSpec{tcp(0, 80)}},
		{"8080:80/udp", []PortSpec{{ContainerPort: 80, HostPort: 8080, Protocol: "udp"}}},
		{"8080:80/TCP", []PortSpec{{ContainerPort: 80, HostPort: 8080, Protocol: "tcp"}}},
		{"127.0.0.1:8080:80", []PortSpec{{ContainerPort: 80, HostPort: 8080, HostIP: "127.0.0.1"}}},
		{"127.0.0.1::80", []PortSpec{{ContainerPort: 80, HostIP: "127.0.0.1"}}},
		{"[::1]:8080:80", []PortSpec{{ContainerPort: 80, HostPort: 8080, HostIP: "::1"}}},
		{"[::1]::53/udp", []PortSpec{{ContainerPort: 53, HostIP: "::1", Protocol: "udp"}}},
		{"8000-8002:9000-9002", []PortSpec{tcp(8000, 9000), tcp(8001, 9001), tcp(8002, 9002)}},
		{"9000-9001", []PortSpec{tcp(0, 9000), tcp(0, 9001)}},
		{"10.0.0.1:7000-7001:7000-7001/udp", []PortSpec{
			{ContainerPort: 7000, HostPort: 7000, HostIP: "10.0.0.1", Protocol: "udp"},
			{ContainerPort: 7001, HostPort: 7001, HostIP: "10.0.0.1", Protocol: "udp"}}},
		{"target=80", []PortSpec{tcp(0, 80)}},
		{"mode=ingress,published=8080,target=80,protocol=tcp", []PortSpec{{ContainerPort: 80, HostPort: 8080, Protocol: "tcp", Mode: "ingress"}}},
		{"published=53, target=53, protocol=UDP, mode=host, host_ip=127.0.0.1", []PortSpec{
			{ContainerPort: 53, HostPort: 53, Protocol: "udp", Mode: "host", HostIP: "127.0.0.1"}}},
		{"target=80,host-ip=[::1]", []PortSpec{{ContainerPort: 80, HostIP: "::1"}}},
	} {
		got, err := ParsePublish(tc.in)
		if err != nil {
			t.Errorf("ParsePublish(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParsePublish(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParsePublishRefuses(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "empty port",
		"0":                     "from 1 to 65535",
		"65536":                 "from 1 to 65535",
		"8080:80/sctp":          "want tcp or udp",
		"x:80":                  "not a port",
		"localhost:8080:80":     "not an IP address",
		"1.2.3.4:5:6:7":         "too many ':'",
		"8000-8001:80":          "a range of host ports for one container port",
		"8000-8002:9000-9001":   "must be as long",
		"9001-9000":             "ends before it starts",
		"1-2000":                "more than 1024 ports",
		"[::1]8080:80":          "brackets",
		"published=80":          "set target",
		"target=80,mode=swarm":  "want host or ingress",
		"target=80,color=blue":  "unknown key",
		"target=80,target=81":   "given twice",
		"target=80,published=":  "not key=value",
		"target=80,host_ip=foo": "not an IP address",
	} {
		_, err := ParsePublish(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePublish(%q) = %v, want an error saying %q", in, err, want)
		}
	}
}

func TestParseExpose(t *testing.T) {
	got, err := ParseExpose("3000-3001/udp")
	want := []PortSpec{{ContainerPort: 3000, Protocol: "udp"}, {ContainerPort: 3001, Protocol: "udp"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseExpose(3000-3001/udp) = %+v, %v; want %+v", got, err, want)
	}
	if got, err := ParseExpose("80"); err != nil || !reflect.DeepEqual(got, []PortSpec{{ContainerPort: 80}}) {
		t.Errorf("ParseExpose(80) = %+v, %v", got, err)
	}
	for _, in := range []string{"", "80:80", "http", "80/icmp", "0"} {
		if _, err := ParseExpose(in); err == nil {
			t.Errorf("ParseExpose(%q) succeeded, want an error", in)
		}
	}
}
