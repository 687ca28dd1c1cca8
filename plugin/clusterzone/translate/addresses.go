package translate

import (
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// clusterIPs returns every ClusterIP of svc (both families), none for a headless Service.
func clusterIPs(svc *corev1.Service) []netip.Addr {
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	var out []netip.Addr
	for _, s := range ips {
		if ip, err := netip.ParseAddr(s); err == nil {
			out = append(out, ip.Unmap())
		}
	}
	return out
}

// loadBalancerAddrs returns the addresses of a LoadBalancer Service:
// spec.externalIPs when set (they replace the ingress, as in ExternalDNS),
// else the load balancer's ingress IPs and hostnames.
func loadBalancerAddrs(svc *corev1.Service) Addrs {
	if ips := externalIPs(svc); len(ips) > 0 {
		return Addrs{IPs: ips}
	}
	var a Addrs
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if ip, err := netip.ParseAddr(in.IP); err == nil {
			a.IPs = append(a.IPs, ip.Unmap())
		}
		// A load balancer's hostname is a concrete name: a wildcard
		// would be resolved (and ALIASed) literally.
		if h, ok := hostname(in.Hostname); ok && !strings.HasPrefix(h, "*.") {
			a.Hostnames = append(a.Hostnames, h)
		}
	}
	return a
}

// externalIPs returns the valid addresses of spec.externalIPs.
func externalIPs(svc *corev1.Service) []netip.Addr {
	var out []netip.Addr
	for _, s := range svc.Spec.ExternalIPs {
		if ip, err := netip.ParseAddr(s); err == nil && ip.Zone() == "" {
			out = append(out, ip.Unmap())
		}
	}
	return out
}

// dedupIPs returns a sorted copy of in without duplicates; nil when empty.
func dedupIPs(in []netip.Addr) []netip.Addr {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// dedupStrings returns a sorted copy of in without duplicates; nil when empty.
func dedupStrings(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}
