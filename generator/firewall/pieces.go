package firewall

import (
	"net/netip"
	"slices"

	"github.com/kronform/kronform-gen/generator/spec"
)

// lastAddr is the highest address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// pieces cuts a prefix at every boundary of the given prefixes and returns the first address of each piece, in
// order. Every given prefix either holds a whole piece or none of it, so anything decided by membership in those
// prefixes (a Cilium CIDR rule, its excepts, a Robot src_ip) decides the same for every address of a piece: testing
// one address per piece is testing the whole prefix, and there are at most 2n+1 pieces for n boundaries.
func pieces(p netip.Prefix, cuts []netip.Prefix) []netip.Addr {
	p = p.Masked()
	first, last := p.Addr(), lastAddr(p)
	starts := []netip.Addr{first}
	for _, c := range cuts {
		if c.Addr().Is4() != first.Is4() || !c.Overlaps(p) {
			continue
		}
		c = c.Masked()
		// A cut prefix that holds p cuts nothing; one inside p starts a piece and ends one.
		if s := c.Addr(); s.Compare(first) > 0 {
			starts = append(starts, s)
		}
		if e := lastAddr(c).Next(); e.IsValid() && e.Compare(last) <= 0 && e.Compare(first) > 0 {
			starts = append(starts, e)
		}
	}
	slices.SortFunc(starts, netip.Addr.Compare)
	return slices.Compact(starts)
}

// boundaries are every address range the layers name: the CIDRs of the compiled Cilium rules and their excepts, and
// the src_ip and dst_ip of the Robot rules. Computed once per simulator.
func (s *Simulator) boundaries() []netip.Prefix {
	if s.cuts != nil {
		return s.cuts
	}
	out := []netip.Prefix{}
	add := func(c string) {
		if p, err := spec.ParseAddressOrCIDR(c); err == nil {
			out = append(out, p)
		} else if p, err := netip.ParsePrefix(c); err == nil {
			out = append(out, p.Masked())
		}
	}
	for _, p := range s.Policies {
		for _, egress := range []bool{false, true} {
			allow, deny := s.rulesOf(p, egress)
			for _, r := range append(slices.Clone(allow), deny...) {
				for _, c := range r.cidr {
					add(c)
				}
				for _, c := range r.cidrSet {
					add(c.CIDR)
					for _, x := range c.Except {
						add(x)
					}
				}
			}
		}
	}
	if s.Template != nil {
		for _, r := range s.Template.Rules {
			for _, c := range []string{r.SrcIP, r.DstIP} {
				if c != "" {
					add(c)
				}
			}
		}
	}
	s.cuts = out
	return out
}
