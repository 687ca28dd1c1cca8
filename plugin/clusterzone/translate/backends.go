package translate

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Backed are the names of a headless or NodePort Service, whose addresses
// come from its EndpointSlices and the cluster's Nodes: what Service could
// read of the Service for Join, and nothing else of it.
type Backed struct {
	// Kind is table.KindHeadless or table.KindNodePort.
	Kind table.Kind
	// Names are the validated names (hostname and, for headless
	// Services, internal-hostname).
	Names []string
	TTL   uint32
	// MaxAddresses is Options.MaxAddresses (0: DefaultMaxAddresses).
	MaxAddresses int
	// TTLSet is set when TTL comes from the ttl annotation.
	TTLSet bool
	// Routing is the names' Route 53 routing policy (nil: none).
	Routing *table.Routing
	// Service is the Service's name (NodePort SRV record names).
	Service string
	// HostAddrs (endpoints-type HostIP, or Options.PublishHostIP) and
	// NodeExternal (endpoints-type NodeExternalIP) publish the addresses
	// of an endpoint's node instead of the pod's (headless).
	HostAddrs, NodeExternal bool
	// NotReady publishes not-ready endpoints too (headless):
	// spec.publishNotReadyAddresses or Options.AlwaysPublishNotReady.
	NotReady bool
	// Access is the access annotation, "public", "private" or "" (NodePort).
	Access string
	// Local is externalTrafficPolicy Local: only the nodes running an
	// endpoint (NodePort).
	Local bool
	// InternalIPv6 is Options.ExposeInternalIPv6.
	InternalIPv6 bool
	// Ports are the node ports, for the SRV records (NodePort).
	Ports     []Port
	DualStack bool
	// Internal are the ClusterIPs (NodePort).
	Internal []netip.Addr
}

// Port is one node port of a NodePort Service.
type Port struct {
	// Protocol is lower case: "tcp", "udp" or "sctp".
	Protocol string
	NodePort uint16
}

func (b *Backed) equal(o *Backed) bool {
	if b == nil || o == nil {
		return b == o
	}
	return b.Kind == o.Kind && slices.Equal(b.Names, o.Names) && b.TTL == o.TTL && b.Service == o.Service &&
		b.HostAddrs == o.HostAddrs && b.NodeExternal == o.NodeExternal && b.NotReady == o.NotReady &&
		b.Access == o.Access && b.Local == o.Local && b.InternalIPv6 == o.InternalIPv6 &&
		slices.Equal(b.Ports, o.Ports) && b.DualStack == o.DualStack && slices.Equal(b.Internal, o.Internal) &&
		b.Routing.Equal(o.Routing)
}

// NeedsNodes reports whether Join reads Nodes for b.
func (b *Backed) NeedsNodes() bool {
	return b != nil && (b.Kind == table.KindNodePort || b.HostAddrs || b.NodeExternal)
}

func backedHeadless(svc *corev1.Service, ann annotations, names []string, ttl uint32, opts Options) *Backed {
	if len(names) == 0 {
		return nil
	}
	et, _ := ann.get(AnnotationEndpointsType)
	return &Backed{
		Kind: table.KindHeadless, Names: names, TTL: ttl, Service: svc.Name, MaxAddresses: opts.MaxAddresses,
		HostAddrs:    et == EndpointsTypeHostIP || opts.PublishHostIP && et != EndpointsTypeNodeExternalIP,
		NodeExternal: et == EndpointsTypeNodeExternalIP,
		NotReady:     svc.Spec.PublishNotReadyAddresses || opts.AlwaysPublishNotReady,
		InternalIPv6: opts.ExposeInternalIPv6,
	}
}

func backedNodePort(svc *corev1.Service, ann annotations, names []string, ttl uint32, dual bool, internal []netip.Addr, opts Options) *Backed {
	if len(names) == 0 {
		return nil
	}
	access, _ := ann.get(AnnotationAccess)
	b := &Backed{
		Kind: table.KindNodePort, Names: names, TTL: ttl, Service: svc.Name, MaxAddresses: opts.MaxAddresses,
		Access:       strings.TrimSpace(access),
		Local:        svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal,
		InternalIPv6: opts.ExposeInternalIPv6,
		DualStack:    dual,
		Internal:     slices.Clip(internal),
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort > 0 && p.NodePort <= 65535 {
			proto := strings.ToLower(string(p.Protocol))
			if proto == "" {
				proto = "tcp"
			}
			b.Ports = append(b.Ports, Port{Protocol: proto, NodePort: uint16(p.NodePort)})
		}
	}
	return b
}

// EndpointSlice is what Join reads of a discovery.k8s.io/v1 EndpointSlice.
type EndpointSlice struct {
	// Key is the slice's "namespace/name".
	Key string
	// Service is the "namespace/name" of its Service (the
	// kubernetes.io/service-name label); empty when it has none.
	Service string
	// AddressType is "IPv4", "IPv6" or "FQDN".
	AddressType string
	Endpoints   []Backend
}

// Backend is one endpoint of an EndpointSlice.
type Backend struct {
	// Addr is the endpoint's first address (the one ExternalDNS
	// publishes); invalid when it has none or it does not parse.
	Addr netip.Addr
	// Raw is the first address as written, for messages when it is not
	// an IP of the slice's family; "" when it parsed.
	Raw string
	// Hostname is the endpoint's hostname (a pod's spec.hostname when its
	// spec.subdomain names the Service: StatefulSets).
	Hostname string
	// NodeName is the node the endpoint runs on.
	NodeName string
	// Ready, Serving and Terminating are the endpoint's conditions (an
	// unset ready or serving counts as true, as the API documents).
	Ready, Serving, Terminating bool
}

// FromEndpointSlice returns what Join reads of es.
func FromEndpointSlice(es *discoveryv1.EndpointSlice) EndpointSlice {
	out := EndpointSlice{Key: es.Namespace + "/" + es.Name, AddressType: string(es.AddressType)}
	if svc := es.Labels[discoveryv1.LabelServiceName]; svc != "" {
		out.Service = es.Namespace + "/" + svc
	}
	out.Endpoints = make([]Backend, len(es.Endpoints))
	for i, ep := range es.Endpoints {
		b := Backend{
			Ready:       ep.Conditions.Ready == nil || *ep.Conditions.Ready,
			Serving:     ep.Conditions.Serving == nil || *ep.Conditions.Serving,
			Terminating: ep.Conditions.Terminating != nil && *ep.Conditions.Terminating,
		}
		if ep.Hostname != nil {
			b.Hostname = *ep.Hostname
		}
		if ep.NodeName != nil {
			b.NodeName = *ep.NodeName
		}
		if len(ep.Addresses) > 0 {
			if ip, err := netip.ParseAddr(ep.Addresses[0]); err == nil && ip.Zone() == "" {
				b.Addr = ip.Unmap()
			} else {
				b.Raw = ep.Addresses[0]
			}
		}
		out.Endpoints[i] = b
	}
	return out
}

// Node is what Join reads of a Node: its name and addresses.
type Node struct {
	Name     string
	Internal []netip.Addr // InternalIP addresses
	External []netip.Addr // ExternalIP addresses
}

// FromNode returns what Join reads of n.
func FromNode(n *corev1.Node) Node {
	out := Node{Name: n.Name}
	for _, a := range n.Status.Addresses {
		ip, err := netip.ParseAddr(a.Address)
		if err != nil || ip.Zone() != "" {
			continue
		}
		switch a.Type {
		case corev1.NodeInternalIP:
			out.Internal = append(out.Internal, ip.Unmap())
		case corev1.NodeExternalIP:
			out.External = append(out.External, ip.Unmap())
		}
	}
	return out
}

// Equal reports whether n and o are the same node as Join sees it.
func (n *Node) Equal(o *Node) bool {
	return n.Name == o.Name && slices.Equal(n.Internal, o.Internal) && slices.Equal(n.External, o.External)
}

// Equal reports whether s and o are the same slice as Join sees it.
func (s *EndpointSlice) Equal(o *EndpointSlice) bool {
	return s.Key == o.Key && s.Service == o.Service && s.AddressType == o.AddressType && slices.Equal(s.Endpoints, o.Endpoints)
}

// Join returns the endpoints of a Service's Backed names, from the
// Service's EndpointSlices and the cluster's Nodes (by name), as
// ExternalDNS's Service source publishes them, and the problems found. It
// is pure: the same inputs give the same endpoints, sorted by name.
//
// Headless: every name carries the first address of each ready endpoint
// (both families, one slice per family), or its node's addresses with
// HostAddrs/NodeExternal; an endpoint with a hostname also publishes
// <hostname>.<name> with its own address.
//
// NodePort: every name carries the node addresses (ExternalIP, or InternalIP
// for access private or when no node has an ExternalIP) of every node, or
// with policy Local of the nodes running a ready endpoint; each node port
// adds an SRV record at _<service>._<protocol>.<name>: 0 50 <port> <name>.
func Join(b *Backed, epSlices []*EndpointSlice, nodes map[string]*Node) ([]Endpoint, []Problem) {
	if b == nil {
		return nil, nil
	}
	sorted := slices.Clone(epSlices)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Key < sorted[j].Key })
	j := joiner{b: b, nodes: nodes, byName: map[string]*joined{}}
	if b.Kind == table.KindNodePort {
		j.nodePort(sorted)
	} else {
		j.headless(sorted)
	}
	return j.endpoints(), j.problems
}

type joined struct {
	ext, in []netip.Addr
	srv     []table.SRV
}

type joiner struct {
	b        *Backed
	nodes    map[string]*Node
	byName   map[string]*joined
	problems []Problem
	reported map[string]bool
}

func (j *joiner) problem(reason, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if j.reported[msg] {
		return
	}
	if j.reported == nil {
		j.reported = map[string]bool{}
	}
	j.reported[msg] = true
	j.problems = append(j.problems, Problem{reason, msg})
}

func (j *joiner) at(name string) *joined {
	e := j.byName[name]
	if e == nil {
		e = &joined{}
		j.byName[name] = e
	}
	return e
}

func (j *joiner) headless(epSlices []*EndpointSlice) {
	for _, s := range epSlices {
		family := 0
		switch s.AddressType {
		case string(discoveryv1.AddressTypeIPv4):
			family = 4
		case string(discoveryv1.AddressTypeIPv6):
			family = 6
		default:
			j.problem(ReasonEndpoint, "EndpointSlice %s has address type %q: only IPv4 and IPv6 are published", s.Key, s.AddressType)
			continue
		}
		for _, ep := range s.Endpoints {
			if !ep.Ready && !j.b.NotReady {
				continue
			}
			switch {
			case ep.Raw != "":
				j.problem(ReasonEndpoint, "EndpointSlice %s: endpoint address %q is not an IP address", s.Key, ep.Raw)
				continue
			case !ep.Addr.IsValid():
				j.problem(ReasonEndpoint, "EndpointSlice %s: an endpoint has no address", s.Key)
				continue
			case ep.Addr.Is4() != (family == 4):
				j.problem(ReasonEndpoint, "EndpointSlice %s of address type %s holds %s, an address of the other family", s.Key, s.AddressType, ep.Addr)
				continue
			}
			pod := []netip.Addr{ep.Addr}
			ext := pod
			if j.b.HostAddrs || j.b.NodeExternal {
				ext = j.nodeAddrs(s.Key, ep.NodeName, family)
			}
			names := j.b.Names
			if ep.Hostname != "" {
				if !validLabel(ep.Hostname) {
					j.problem(ReasonEndpoint, "EndpointSlice %s: endpoint hostname %q is not a valid DNS label", s.Key, ep.Hostname)
				} else {
					names = append(slices.Clone(names), j.podNames(ep.Hostname)...)
				}
			}
			for _, n := range names {
				e := j.at(n)
				e.ext = append(e.ext, ext...)
				e.in = append(e.in, pod...)
			}
		}
	}
}

// podNames returns <label>.<name> for each name that is not a wildcard and
// stays a valid name.
func (j *joiner) podNames(label string) []string {
	var out []string
	for _, n := range j.b.Names {
		if strings.HasPrefix(n, "*.") {
			continue
		}
		if name := strings.ToLower(label) + "." + n; len(name) <= 254 {
			out = append(out, name)
		} else {
			j.problem(ReasonEndpoint, "endpoint hostname %q under %s makes a name longer than 253 octets", label, n)
		}
	}
	return out
}

// nodeAddrs returns the addresses of the node named name that a headless
// Service's endpoint in a slice of family (4 or 6) publishes: with
// NodeExternal every ExternalIP of the node, both families, as ExternalDNS
// does (and its internal IPv6 addresses with InternalIPv6); with HostAddrs
// its InternalIPs of the slice's family (the pod's host IPs).
func (j *joiner) nodeAddrs(slice, name string, family int) []netip.Addr {
	n := j.nodes[name]
	if n == nil {
		j.problem(ReasonNode, "EndpointSlice %s: node %q of an endpoint is not known", slice, name)
		return nil
	}
	if j.b.NodeExternal {
		out := n.External
		if j.b.InternalIPv6 {
			out = append(slices.Clone(out), v6Only(n.Internal)...)
		}
		if len(out) == 0 {
			j.problem(ReasonNode, "node %q has no ExternalIP address", name)
		}
		return out
	}
	var out []netip.Addr
	for _, ip := range n.Internal {
		if ip.Is4() == (family == 4) {
			out = append(out, ip)
		}
	}
	if len(out) == 0 {
		j.problem(ReasonNode, "node %q has no IPv%d InternalIP address", name, family)
	}
	return out
}

func (j *joiner) nodePort(epSlices []*EndpointSlice) {
	var nodes []*Node
	if j.b.Local {
		// Nodes running a ready endpoint; else a serving one (ready but
		// terminating); else any: ExternalDNS's order for pods.
		var ready, serving, any []string
		for _, s := range epSlices {
			for _, ep := range s.Endpoints {
				if ep.NodeName == "" {
					continue
				}
				any = append(any, ep.NodeName)
				if ep.Serving {
					serving = append(serving, ep.NodeName)
				}
				if ep.Ready && !ep.Terminating {
					ready = append(ready, ep.NodeName)
				}
			}
		}
		names := ready
		if len(names) == 0 {
			names = serving
		}
		if len(names) == 0 {
			names = any
		}
		for _, name := range dedupStrings(names) {
			if n := j.nodes[name]; n != nil {
				nodes = append(nodes, n)
			} else {
				j.problem(ReasonNode, "node %q of an endpoint is not known", name)
			}
		}
	} else {
		for _, n := range j.nodes {
			nodes = append(nodes, n)
		}
		sort.Slice(nodes, func(a, b int) bool { return nodes[a].Name < nodes[b].Name })
	}
	var ext, in, in6 []netip.Addr
	for _, n := range nodes {
		if len(n.External) == 0 && len(n.Internal) == 0 {
			j.problem(ReasonNode, "node %q has no InternalIP or ExternalIP address", n.Name)
		}
		ext = append(ext, n.External...)
		in = append(in, n.Internal...)
		in6 = append(in6, v6Only(n.Internal)...)
	}
	var addrs []netip.Addr
	switch {
	case j.b.Access == "private":
		addrs = in
	case j.b.Access == "public" || len(ext) > 0:
		addrs = ext
		if j.b.InternalIPv6 {
			addrs = append(addrs, in6...)
		}
	default:
		addrs = in
	}
	for _, n := range j.b.Names {
		e := j.at(n)
		e.ext = append(e.ext, addrs...)
		e.in = j.b.Internal
		if strings.HasPrefix(n, "*.") {
			continue
		}
		for _, p := range j.b.Ports {
			srvName := "_" + j.b.Service + "._" + p.Protocol + "." + n
			if len(srvName) > 254 {
				j.problem(ReasonHostname, "SRV name %s is longer than 253 octets", srvName)
				continue
			}
			s := j.at(srvName)
			s.srv = append(s.srv, table.SRV{Priority: 0, Weight: 50, Port: p.NodePort, Target: n})
		}
	}
}

// endpoints returns the joined names as endpoints, sorted by name.
func (j *joiner) endpoints() []Endpoint {
	names := make([]string, 0, len(j.byName))
	for n := range j.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]Endpoint, 0, len(names))
	for _, n := range names {
		e := j.byName[n]
		ep := Endpoint{Name: n, TTL: j.b.TTL, TTLSet: j.b.TTLSet, Kind: j.b.Kind, DualStack: j.b.DualStack, Routing: j.b.Routing}
		ep.External.IPs = j.capped(n, dedupIPs(e.ext))
		switch {
		case len(e.srv) > 0:
			srv := slices.Clone(e.srv)
			sort.Slice(srv, func(a, b int) bool { return srv[a].Port < srv[b].Port })
			ep.Refs = &table.Refs{SRV: srv}
		case j.b.Kind == table.KindHeadless && !j.b.HostAddrs && !j.b.NodeExternal:
			ep.Everywhere = true // the pod addresses are all there is
		default:
			ep.Internal = j.capped(n, dedupIPs(e.in))
		}
		out = append(out, ep)
	}
	return out
}

// capped keeps at most MaxAddresses addresses of each family (the lowest).
func (j *joiner) capped(name string, ips []netip.Addr) []netip.Addr {
	max := Options{MaxAddresses: j.b.MaxAddresses}.maxAddresses()
	out, v4, v6, capped := capAddrs(ips, max)
	if capped {
		j.problem(ReasonTooMany, "name %s has %d IPv4 and %d IPv6 addresses; publishing the lowest %d of each family (max-addresses)", name, v4, v6, max)
	}
	return out
}

func v6Only(ips []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, ip := range ips {
		if ip.Is6() {
			out = append(out, ip)
		}
	}
	return out
}

// validLabel reports whether s is one DNS label of letters, digits and
// hyphens (RFC 1123), as an endpoint hostname must be.
func validLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range strings.ToLower(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
