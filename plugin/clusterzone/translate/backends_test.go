package translate

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr[T any](v T) *T { return &v }

// slice is an EndpointSlice of Service web in namespace n as the
// EndpointSlice controller writes it.
func slice(name string, family discoveryv1.AddressType, eps ...discoveryv1.Endpoint) *EndpointSlice {
	es := FromEndpointSlice(&discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: "n", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: family, Endpoints: eps,
	})
	return &es
}

func ep(addr, host, node string, ready bool) discoveryv1.Endpoint {
	e := discoveryv1.Endpoint{Addresses: []string{addr}, NodeName: ptr(node),
		Conditions: discoveryv1.EndpointConditions{Ready: ptr(ready), Serving: ptr(ready), Terminating: ptr(false)}}
	if host != "" {
		e.Hostname = ptr(host)
	}
	return e
}

func nodes(ns ...Node) map[string]*Node {
	out := map[string]*Node{}
	for i := range ns {
		out[ns[i].Name] = &ns[i]
	}
	return out
}

var testNodes = nodes(
	Node{Name: "n1", Internal: ips("10.0.0.1", "fd00::1"), External: ips("203.0.113.1")},
	Node{Name: "n2", Internal: ips("10.0.0.2", "fd00::2"), External: ips("203.0.113.2", "2001:db8::2")},
	Node{Name: "n3", Internal: ips("10.0.0.3")},
)

func TestJoinHeadless(t *testing.T) {
	v4 := slice("web-a", discoveryv1.AddressTypeIPv4,
		ep("10.244.0.1", "web-0", "n1", true), ep("10.244.0.2", "web-1", "n2", true), ep("10.244.0.3", "web-2", "n2", false))
	v6 := slice("web-b", discoveryv1.AddressTypeIPv6,
		ep("fd00:244::1", "web-0", "n1", true), ep("fd00:244::2", "web-1", "n2", true), ep("fd00:244::3", "web-2", "n2", false))
	b := &Backed{Kind: table.KindHeadless, Names: []string{"web.example.org."}, TTL: 30, Service: "web"}
	hl := func(name string, addrs ...string) Endpoint {
		return Endpoint{Name: name, TTL: 30, Kind: table.KindHeadless, Everywhere: true, External: Addrs{IPs: ips(addrs...)}}
	}

	got, problems := Join(b, []*EndpointSlice{v6, v4}, nil)
	want := []Endpoint{
		hl("web-0.web.example.org.", "10.244.0.1", "fd00:244::1"),
		hl("web-1.web.example.org.", "10.244.0.2", "fd00:244::2"),
		hl("web.example.org.", "10.244.0.1", "10.244.0.2", "fd00:244::1", "fd00:244::2"),
	}
	if !reflect.DeepEqual(got, want) || problems != nil {
		t.Errorf("ready endpoints:\n got %+v %v\nwant %+v", got, problems, want)
	}

	nr := *b
	nr.NotReady = true
	got, _ = Join(&nr, []*EndpointSlice{v4}, nil)
	if len(got) != 4 || !reflect.DeepEqual(got[3].External.IPs, ips("10.244.0.1", "10.244.0.2", "10.244.0.3")) {
		t.Errorf("publishNotReadyAddresses: %+v", got)
	}

	host := *b
	host.HostAddrs = true
	got, _ = Join(&host, []*EndpointSlice{v4, v6}, testNodes)
	if w := ips("10.0.0.1", "10.0.0.2", "fd00::1", "fd00::2"); !reflect.DeepEqual(got[2].External.IPs, w) ||
		!reflect.DeepEqual(got[2].Internal, ips("10.244.0.1", "10.244.0.2", "fd00:244::1", "fd00:244::2")) || got[2].Everywhere {
		t.Errorf("HostIP: %+v, want external %v and the pod IPs internal", got[2], w)
	}

	ext := *b
	ext.NodeExternal = true
	got, problems = Join(&ext, []*EndpointSlice{v4, v6}, testNodes)
	if w := ips("203.0.113.1", "203.0.113.2", "2001:db8::2"); !reflect.DeepEqual(got[2].External.IPs, w) {
		t.Errorf("NodeExternalIP: %+v, want %v", got[2].External.IPs, w)
	}
	if problems != nil {
		t.Errorf("problems %+v", problems)
	}
	// Every family of the node's ExternalIPs, whatever the slice's (as
	// ExternalDNS): an IPv4-only Service on n2 publishes its IPv6 too.
	got, _ = Join(&ext, []*EndpointSlice{v4}, testNodes)
	if w := ips("203.0.113.1", "203.0.113.2", "2001:db8::2"); !reflect.DeepEqual(got[2].External.IPs, w) {
		t.Errorf("NodeExternalIP from an IPv4 slice: %+v, want %v", got[2].External.IPs, w)
	}
}

func TestJoinHeadlessBadInput(t *testing.T) {
	b := &Backed{Kind: table.KindHeadless, Names: []string{"web.example.org."}, TTL: 30, Service: "web"}
	noAddr := ep("10.244.0.9", "", "n1", true)
	noAddr.Addresses = nil
	bad := slice("bad", discoveryv1.AddressTypeIPv4,
		ep("10.244.0.1", "Not_A_Label", "n1", true), // published at the name, not under it
		ep("fd00:244::1", "", "n1", true),           // other family
		noAddr,
		ep("10.244.0.2", "web-1", "n1", true))
	fqdn := slice("fqdn", discoveryv1.AddressTypeFQDN, ep("db.example.com", "", "n1", true))
	got, problems := Join(b, []*EndpointSlice{bad, fqdn}, nil)
	if len(got) != 2 || got[1].Name != "web.example.org." || !reflect.DeepEqual(got[1].External.IPs, ips("10.244.0.1", "10.244.0.2")) {
		t.Errorf("endpoints %+v", got)
	}
	if len(problems) != 4 {
		t.Errorf("want 4 problems (hostname, family, no address, FQDN): %+v", problems)
	}
	for _, p := range problems {
		if p.Reason != ReasonEndpoint {
			t.Errorf("reason %s: %s", p.Reason, p.Message)
		}
	}

	// 5,000 endpoints: the lowest DefaultMaxAddresses are published, once reported.
	var many []discoveryv1.Endpoint
	for i := 0; i < 5000; i++ {
		many = append(many, ep(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), "", "n1", true))
	}
	got, problems = Join(b, []*EndpointSlice{slice("many", discoveryv1.AddressTypeIPv4, many...)}, nil)
	if len(got) != 1 || len(got[0].External.IPs) != DefaultMaxAddresses || got[0].External.IPs[0] != netip.MustParseAddr("10.0.0.0") {
		t.Errorf("5000 endpoints: %d addresses", len(got[0].External.IPs))
	}
	if len(problems) != 1 || problems[0].Reason != ReasonTooMany {
		t.Errorf("problems %+v", problems)
	}
}

func TestJoinNodePort(t *testing.T) {
	b := &Backed{Kind: table.KindNodePort, Names: []string{"np.example.org."}, TTL: 60, Service: "np",
		Ports: []Port{{"udp", 30053}, {"tcp", 30080}}, Internal: ips("10.96.0.3")}
	srv := Endpoint{Name: "_np._tcp.np.example.org.", TTL: 60, Kind: table.KindNodePort, Refs: &table.Refs{SRV: []table.SRV{{Weight: 50, Port: 30080, Target: "np.example.org."}}}}
	srvUDP := Endpoint{Name: "_np._udp.np.example.org.", TTL: 60, Kind: table.KindNodePort, Refs: &table.Refs{SRV: []table.SRV{{Weight: 50, Port: 30053, Target: "np.example.org."}}}}
	np := func(addrs ...string) Endpoint {
		return Endpoint{Name: "np.example.org.", TTL: 60, Kind: table.KindNodePort, External: Addrs{IPs: ips(addrs...)}, Internal: ips("10.96.0.3")}
	}
	slices := []*EndpointSlice{slice("np-a", discoveryv1.AddressTypeIPv4,
		ep("10.244.0.1", "", "n1", false), ep("10.244.0.3", "", "n3", true))}

	for _, c := range []struct {
		name   string
		change func(b *Backed)
		want   Endpoint
	}{
		{"cluster policy: every node's ExternalIP", func(*Backed) {}, np("203.0.113.1", "203.0.113.2", "2001:db8::2")},
		{"access private: InternalIP", func(b *Backed) { b.Access = "private" }, np("10.0.0.1", "10.0.0.2", "10.0.0.3", "fd00::1", "fd00::2")},
		{"expose-internal-ipv6", func(b *Backed) { b.InternalIPv6 = true }, np("203.0.113.1", "203.0.113.2", "2001:db8::2", "fd00::1", "fd00::2")},
		{"local policy: only nodes with a ready endpoint (n3, no ExternalIP: InternalIP)", func(b *Backed) { b.Local = true }, np("10.0.0.3")},
	} {
		t.Run(c.name, func(t *testing.T) {
			bb := *b
			c.change(&bb)
			got, problems := Join(&bb, slices, testNodes)
			want := []Endpoint{srv, srvUDP, c.want}
			if !reflect.DeepEqual(got, want) || problems != nil {
				t.Errorf("\n got %+v %v\nwant %+v", got, problems, want)
			}
		})
	}
	// Local with no ready endpoint falls back to the nodes running any (n1).
	bb := *b
	bb.Local = true
	got, _ := Join(&bb, []*EndpointSlice{slice("np-a", discoveryv1.AddressTypeIPv4, ep("10.244.0.1", "", "n1", false))}, testNodes)
	if !reflect.DeepEqual(got[2].External.IPs, ips("203.0.113.1")) {
		t.Errorf("fallback: %+v", got[2])
	}
	// A node without addresses is reported; the others stay.
	withEmpty := nodes(Node{Name: "n1", External: ips("203.0.113.1")}, Node{Name: "n0"})
	got, problems := Join(b, nil, withEmpty)
	if !reflect.DeepEqual(got[2].External.IPs, ips("203.0.113.1")) || len(problems) != 1 || problems[0].Reason != ReasonNode {
		t.Errorf("node without addresses: %+v %+v", got, problems)
	}
}
