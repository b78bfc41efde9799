package netalloc

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/wharfhq/wharf/internal/errdefs"
)

func TestFreeSubnet(t *testing.T) {
	mp := netip.MustParsePrefix
	for _, c := range []struct {
		existing []netip.Prefix
		want     string
	}{
		{nil, "10.8.0.0/16"},
		{[]netip.Prefix{mp("10.7.0.0/16")}, "10.8.0.0/16"},
		{[]netip.Prefix{mp("10.7.0.0/16"), mp("10.8.0.0/16"), mp("10.9.3.0/24")}, "10.10.0.0/16"},
		{[]netip.Prefix{mp("10.0.0.0/12")}, "10.16.0.0/16"}, // a wide network covers many /16s
	} {
		got, err := FreeSubnet(c.existing)
		if err != nil || got != mp(c.want) {
			t.Errorf("FreeSubnet(%v) = %v, %v; want %s", c.existing, got, err, c.want)
		}
	}
	if got, err := FreeSubnet([]netip.Prefix{mp("10.0.0.0/8")}); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("FreeSubnet(10.0.0.0/8) = %v, %v; want a conflict", got, err)
	}
	if p, ok := Overlapping(mp("10.7.1.0/24"), []netip.Prefix{mp("10.8.0.0/16"), mp("10.7.0.0/16")}); !ok || p != mp("10.7.0.0/16") {
		t.Errorf("Overlapping: %v %v", p, ok)
	}
}
