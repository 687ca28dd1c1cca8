package translate

import "net/netip"

// maxAddresses returns the most addresses of one family a name carries.
func (o Options) maxAddresses() int {
	if o.MaxAddresses > 0 {
		return o.MaxAddresses
	}
	return DefaultMaxAddresses
}

// capAddrs keeps the first max addresses of each family of ips (sorted:
// the lowest). It returns how many of each family there were, and whether
// any were left out.
func capAddrs(ips []netip.Addr, max int) (out []netip.Addr, v4, v6 int, capped bool) {
	for _, ip := range ips {
		if ip.Is4() {
			v4++
		}
	}
	v6 = len(ips) - v4
	if v4 <= max && v6 <= max {
		return ips, v4, v6, false
	}
	out = make([]netip.Addr, 0, min(v4, max)+min(v6, max))
	n4, n6 := 0, 0
	for _, ip := range ips {
		switch {
		case ip.Is4() && n4 < max:
			out = append(out, ip)
			n4++
		case !ip.Is4() && n6 < max:
			out = append(out, ip)
			n6++
		}
	}
	return out, v4, v6, true
}
