// Package translate turns a Kubernetes Service into the DNS names and
// addresses it publishes, the way ExternalDNS's Service source does. It is
// pure: Service is a function of the Service and the plugin's options, and
// Join adds what a headless or NodePort Service takes from its
// EndpointSlices and the cluster's Nodes. Every source (the API server,
// manifest files) goes through it, so what a manifest serves in development
// is what a cluster would serve.
package translate

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"

	corev1 "k8s.io/api/core/v1"
)

// The ExternalDNS annotation prefixes accepted by default.
const (
	PrefixAlpha = "external-dns.alpha.kubernetes.io/"
	PrefixGA    = "external-dns.kubernetes.io/"
)

// Annotation keys after the prefix.
const (
	AnnotationHostname         = "hostname"
	AnnotationInternalHostname = "internal-hostname"
	AnnotationTTL              = "ttl"
	AnnotationTarget           = "target"
	AnnotationController       = "controller"
	AnnotationIgnore           = "ignore"
	AnnotationAccess           = "access"
	AnnotationEndpointsType    = "endpoints-type"
)

// AnnotationGatewayHostname is k8s_gateway's hostname annotation, read with
// Options.GatewayHostname: names relative to every zone, or absolute.
const AnnotationGatewayHostname = "coredns.io/hostname"

// Values of the endpoints-type annotation (headless Services).
const (
	EndpointsTypeHostIP         = "HostIP"
	EndpointsTypeNodeExternalIP = "NodeExternalIP"
)

// Limits on the addresses of one name, per family (Options.MaxAddresses):
// the lowest are kept, and a Service with more is reported. 1,000 A (16 kB)
// and 1,000 AAAA (28 kB) records fit one TCP answer of 64 kB, compressed or
// not; LimitMaxAddresses of each still does.
const (
	DefaultMaxAddresses = 1000
	LimitMaxAddresses   = 1400
)

// AWS load balancer annotations read to tell a dual-stack load balancer.
const (
	AnnotationAWSIPAddressType = "service.beta.kubernetes.io/aws-load-balancer-ip-address-type"
)

// DefaultControllers are the values of the controller annotation that this
// plugin accepts: ExternalDNS's own value, so manifests need no change, and ours.
var DefaultControllers = []string{"dns-controller", "clusterzone"}

// Problem reasons, used as metric labels.
const (
	ReasonHostname   = "invalid_hostname"
	ReasonOutside    = "outside_zones"
	ReasonTTL        = "invalid_ttl"
	ReasonTarget     = "invalid_target"
	ReasonNotAllowed = "not_allowed"
	// ReasonEndpoint: an EndpointSlice endpoint that cannot be published
	// (no address, an address of the wrong family, a bad hostname).
	ReasonEndpoint = "invalid_endpoint"
	// ReasonNode: a Node the Service needs has no usable address or is unknown.
	ReasonNode = "invalid_node"
	// ReasonTooMany: more addresses than Options.MaxAddresses at one name.
	ReasonTooMany = "too_many_addresses"
	// ReasonExternalName: spec.externalName is neither a hostname nor an IP.
	ReasonExternalName = "invalid_external_name"
	// ReasonRouting: the routing annotations (set-identifier, aws-*) are
	// invalid; the names are served but not written to Route 53.
	ReasonRouting = "invalid_routing"
)

// Allow restricts the names at or below Suffix to Services in Namespaces.
type Allow struct {
	Suffix     string // lower-case FQDN
	Namespaces []string
}

// Options are the plugin options translate depends on. Where ExternalDNS
// has a flag for a behaviour, the option says which, and its zero value is
// ExternalDNS's default.
type Options struct {
	// Prefixes are the annotation prefixes read, in order of precedence.
	Prefixes []string
	// Zones are the lower-case FQDN zones served; names outside all of them are dropped.
	Zones []string
	// DefaultTTL is used when the Service has no ttl annotation.
	DefaultTTL uint32
	// MaxAddresses is the most addresses of one family a name carries;
	// 0 means DefaultMaxAddresses.
	MaxAddresses int
	// Controllers are the accepted values of the controller annotation.
	Controllers []string
	// Allow are the tenancy rules: a name under a rule's suffix may only be
	// published by a Service in one of its namespaces (the longest matching
	// suffix decides). Names under no rule are open to every namespace.
	Allow []Allow
	// ExternalNameCNAME serves an ExternalName Service's hostname as a
	// CNAME (ExternalDNS's shape) instead of its resolved addresses.
	ExternalNameCNAME bool
	// AlwaysPublishNotReady publishes the not-ready endpoints of headless
	// Services too (--always-publish-not-ready-addresses).
	AlwaysPublishNotReady bool
	// PublishHostIP publishes the host addresses of headless Services'
	// endpoints instead of the pods' (--publish-host-ip).
	PublishHostIP bool
	// ExposeInternalIPv6 adds the nodes' internal IPv6 addresses to their
	// external ones for NodePort and NodeExternalIP (--expose-internal-ipv6).
	ExposeInternalIPv6 bool
	// GatewayHostname reads k8s_gateway's coredns.io/hostname annotation too.
	GatewayHostname bool
	// ServiceTypes, when set, are the only Service types published
	// (--service-type-filter); values from ServiceTypes.
	ServiceTypes []string
}

// ServiceTypes are the Service types a Options.ServiceTypes filter can name.
var ServiceTypes = []string{"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"}

// Addrs is a set of addresses a name carries: IPs, and hostnames that are
// resolved into IPs off the serving path (an AWS load balancer's, say).
type Addrs struct {
	IPs       []netip.Addr
	Hostnames []string
}

// Empty reports whether a holds no address at all.
func (a Addrs) Empty() bool { return len(a.IPs) == 0 && len(a.Hostnames) == 0 }

// Endpoint is one name a Service publishes. Endpoints of one Result may
// share their address slices: they are read-only.
type Endpoint struct {
	// Name is the lower-case FQDN; it may start with "*." (a wildcard).
	Name string
	TTL  uint32
	// TTLSet is set when TTL comes from the ttl annotation.
	TTLSet bool
	// Kind is where the addresses come from.
	Kind table.Kind
	// ClusterIPOnly is set when External holds the ClusterIPs of a
	// ClusterIP Service that has no external address (see
	// table.RecordSet.ClusterIPOnly).
	ClusterIPOnly bool
	// DualStack is set when the Service asks its load balancer for both
	// address families (the AWS ip-address-type annotation).
	DualStack bool
	// Everywhere is set when External are the name's addresses in every
	// view (ExternalName, headless pods): there is no other internal address.
	Everywhere bool
	// External are the addresses published to external clients: load
	// balancer ingress, external IPs, node addresses, endpoints, the
	// ExternalName, or the target annotation.
	External Addrs
	// Internal are the cluster-internal addresses: every ClusterIP.
	Internal []netip.Addr
	// Refs are the name's CNAME or SRV records (ExternalName as a CNAME,
	// NodePort SRV); nil for other names.
	Refs *table.Refs
	// Routing is the Route 53 routing policy (set-identifier and aws-*
	// annotations); nil for almost every name. Shared by the Service's names.
	Routing *table.Routing
	// AliasOptions are the alias and aws-evaluate-target-health
	// annotations; nil for almost every name. Shared by the Service's names.
	AliasOptions *table.AliasOptions
}

// Problem is one piece of invalid input that was dropped.
type Problem struct {
	Reason  string // one of the Reason constants
	Message string
}

// Result is everything a Service publishes.
type Result struct {
	// Key is "namespace/name".
	Key string
	// UID is the Service's UID (for Events on it); empty when it has none
	// (a manifest file).
	UID       string
	Created   time.Time
	Endpoints []Endpoint
	// Backed, when set, are the names whose addresses come from the
	// Service's EndpointSlices or the cluster's Nodes (headless and
	// NodePort Services): Join turns them into endpoints.
	Backed *Backed
	// Skipped says why the whole Service publishes nothing by choice
	// (ignore or controller annotation); empty otherwise.
	Skipped  string
	Problems []Problem
}

// NamespaceName returns the namespace and name of the Service, from Key.
func (r *Result) NamespaceName() (namespace, name string) {
	ns, n, _ := strings.Cut(r.Key, "/")
	return ns, n
}

// Equal reports whether r and o are the same translation: same Service (key,
// UID, creation time), same endpoints, same skip reason and problems. A
// Service update that changes nothing translation reads gives an equal
// result.
func (r *Result) Equal(o *Result) bool {
	return r.Key == o.Key && r.UID == o.UID && r.Created.Equal(o.Created) &&
		r.Skipped == o.Skipped && slices.Equal(r.Problems, o.Problems) &&
		slices.EqualFunc(r.Endpoints, o.Endpoints, Endpoint.equal) && r.Backed.equal(o.Backed)
}

func (e Endpoint) equal(o Endpoint) bool {
	return e.Name == o.Name && e.TTL == o.TTL && e.Kind == o.Kind && e.DualStack == o.DualStack &&
		e.Everywhere == o.Everywhere && e.External.equal(o.External) && slices.Equal(e.Internal, o.Internal) &&
		e.Refs.Equal(o.Refs) && e.Routing.Equal(o.Routing) && e.AliasOptions.Equal(o.AliasOptions)
}

func (a Addrs) equal(o Addrs) bool {
	return slices.Equal(a.IPs, o.IPs) && slices.Equal(a.Hostnames, o.Hostnames)
}

// annotations reads a Service's annotations under the prefixes in order of
// precedence: the first prefix that has a key gives its value.
type annotations struct {
	m        map[string]string
	prefixes []string
}

func (a annotations) get(key string) (string, bool) {
	for _, p := range a.prefixes {
		if v, ok := a.m[p+key]; ok {
			return v, true
		}
	}
	return "", false
}

// Service translates svc. It never fails: invalid parts are dropped and
// reported in Result.Problems, and everything valid is kept. Which
// addresses a name carries follows ExternalDNS's Service source:
//   - the target annotation, when set, replaces everything below;
//   - LoadBalancer: spec.externalIPs when set, else the load balancer's
//     ingress IPs and hostnames (none yet: the name publishes nothing);
//   - ClusterIP: spec.externalIPs when set, else every ClusterIP;
//   - ExternalName: spec.externalIPs when set, else spec.externalName (an
//     IP, or a hostname resolved off the serving path or served as a CNAME);
//   - headless and NodePort: their endpoints and nodes, in Result.Backed
//     (see Join).
//
// Every name also carries the ClusterIPs as its internal addresses.
func Service(svc *corev1.Service, opts Options) Result {
	r := Result{Key: svc.Namespace + "/" + svc.Name, UID: string(svc.UID), Created: svc.CreationTimestamp.Time}
	ann := annotations{svc.Annotations, opts.Prefixes}

	if v, ok := ann.get(AnnotationIgnore); ok && strings.EqualFold(strings.TrimSpace(v), "true") {
		r.Skipped = "ignore annotation is true"
		return r
	}
	if v, ok := ann.get(AnnotationController); ok && !slices.Contains(opts.Controllers, strings.TrimSpace(v)) {
		r.Skipped = fmt.Sprintf("controller annotation %q is not one of %v", v, opts.Controllers)
		return r
	}

	ttl, ttlSet := opts.DefaultTTL, false
	if v, ok := ann.get(AnnotationTTL); ok {
		t, err := ParseTTL(v)
		if err != nil {
			r.Problems = append(r.Problems, Problem{ReasonTTL, fmt.Sprintf("ttl %s: %v; using %d", quote(v), err, ttl)})
		} else {
			ttl, ttlSet = t, true
		}
	}

	// The names, validated; internal-hostname names after the others.
	hostnames, _ := ann.get(AnnotationHostname)
	names := r.names(splitList(hostnames), svc.Namespace, opts)
	if opts.GatewayHostname {
		names = append(names, r.names(gatewayNames(svc.Annotations[AnnotationGatewayHostname], opts.Zones), svc.Namespace, opts)...)
	}
	internalNames, _ := ann.get(AnnotationInternalHostname)
	inNames := r.names(splitList(internalNames), svc.Namespace, opts)
	if len(names) == 0 && len(inNames) == 0 {
		return r
	}
	if typ := string(svc.Spec.Type); len(opts.ServiceTypes) > 0 {
		if typ == "" {
			typ = string(corev1.ServiceTypeClusterIP)
		}
		if !slices.Contains(opts.ServiceTypes, typ) {
			r.Skipped = fmt.Sprintf("type %s is not one of service-types %v", typ, opts.ServiceTypes)
			return r
		}
	}

	routing := r.routing(ann)
	internal := dedupIPs(clusterIPs(svc))
	dual := strings.EqualFold(svc.Annotations[AnnotationAWSIPAddressType], "dualstack")
	base := Endpoint{TTL: ttl, TTLSet: ttlSet, DualStack: dual, Internal: slices.Clip(internal), Routing: routing, AliasOptions: r.aliasOptions(ann)}
	targets, hasTarget := ann.get(AnnotationTarget)
	headless := svc.Spec.ClusterIP == corev1.ClusterIPNone && (svc.Spec.Type == corev1.ServiceTypeClusterIP || svc.Spec.Type == "")
	switch {
	// internal-hostname names carry the ClusterIPs where a Service has
	// them besides its external addresses (LoadBalancer, ClusterIP); for
	// the other kinds, and with a target, the same as hostname names, as
	// in ExternalDNS.
	case hasTarget:
		base.Kind = table.KindTarget
		base.External = r.targets(targets)
		names, inNames = append(names, inNames...), nil
	case headless:
		r.Backed = backedHeadless(svc, ann, append(names, inNames...), ttl, opts)
		names, inNames = nil, nil
		if r.Backed != nil {
			r.Backed.TTLSet, r.Backed.Routing = ttlSet, routing
		}
	case svc.Spec.Type == corev1.ServiceTypeNodePort:
		r.Backed = backedNodePort(svc, ann, append(names, inNames...), ttl, dual, internal, opts)
		names, inNames = nil, nil
		if r.Backed != nil {
			r.Backed.TTLSet, r.Backed.Routing = ttlSet, routing
		}
	case svc.Spec.Type == corev1.ServiceTypeExternalName:
		base.Kind = table.KindExternalName
		base.Everywhere = true
		base.External, base.Refs = r.externalName(svc, opts)
		names, inNames = append(names, inNames...), nil
	case svc.Spec.Type == corev1.ServiceTypeLoadBalancer:
		base.Kind = table.KindLoadBalancer
		base.External = loadBalancerAddrs(svc)
	default:
		base.Kind = table.KindClusterIP
		base.External.IPs = externalIPs(svc)
		if len(base.External.IPs) == 0 {
			// A ClusterIP Service has no other address: its names carry the ClusterIPs.
			base.External.IPs = internal
			base.ClusterIPOnly = true
		}
	}
	base.External.IPs = slices.Clip(dedupIPs(base.External.IPs))
	if ips, v4, v6, capped := capAddrs(base.External.IPs, opts.maxAddresses()); capped {
		r.Problems = append(r.Problems, Problem{ReasonTooMany, fmt.Sprintf("%d IPv4 and %d IPv6 addresses; publishing the lowest %d of each family (max-addresses)", v4, v6, opts.maxAddresses())})
		base.External.IPs = ips
	}
	if ips, _, _, capped := capAddrs(base.Internal, opts.maxAddresses()); capped {
		base.Internal = ips
	}
	base.External.Hostnames = slices.Clip(dedupStrings(base.External.Hostnames))

	seen := map[string]int{}
	add := func(name string, ep Endpoint) {
		if i, dup := seen[name]; dup {
			// Listed twice (or as both hostname and internal-hostname): merge.
			e := &r.Endpoints[i]
			e.External.IPs = dedupIPs(append(e.External.IPs, ep.External.IPs...))
			e.External.Hostnames = dedupStrings(append(e.External.Hostnames, ep.External.Hostnames...))
			// Named by internal-hostname too: published as ExternalDNS does.
			e.ClusterIPOnly = e.ClusterIPOnly && ep.ClusterIPOnly
			return
		}
		seen[name] = len(r.Endpoints)
		// Shared, not copied (a Service's names usually carry the same
		// addresses), and clipped: the merge above appends to a new array.
		ep.Name = name
		r.Endpoints = append(r.Endpoints, ep)
	}
	for _, n := range names {
		add(n, base)
	}
	for _, n := range inNames {
		// internal-hostname names publish the ClusterIPs in every view.
		ep := base
		ep.Kind, ep.Everywhere, ep.Refs, ep.ClusterIPOnly = table.KindClusterIP, false, nil, false
		ep.External = Addrs{IPs: ep.Internal}
		add(n, ep)
	}
	return r
}

// names validates a list of names for the Service in namespace ns: the valid
// ones are returned, the others reported.
func (r *Result) names(list []string, ns string, opts Options) []string {
	var out []string
	for _, n := range list {
		name, ok := hostname(n)
		switch {
		case !ok:
			r.Problems = append(r.Problems, Problem{ReasonHostname, fmt.Sprintf("hostname %s is not a valid DNS name", quote(n))})
		case !inZones(name, opts.Zones):
			r.Problems = append(r.Problems, Problem{ReasonOutside, fmt.Sprintf("hostname %s is outside the zones %v", quote(n), opts.Zones)})
		default:
			if a, ok := allowed(name, ns, opts.Allow); !ok {
				r.Problems = append(r.Problems, Problem{ReasonNotAllowed, fmt.Sprintf("hostname %s: names under %s may only be published from namespaces %v", quote(n), a.Suffix, a.Namespaces)})
				continue
			}
			out = append(out, name)
		}
	}
	return out
}

// targets parses the target annotation: IPs and hostnames.
func (r *Result) targets(v string) Addrs {
	var a Addrs
	for _, t := range splitList(v) {
		if ip, err := netip.ParseAddr(t); err == nil && ip.Zone() == "" {
			a.IPs = append(a.IPs, ip.Unmap())
			continue
		}
		if h, ok := hostname(t); ok && !strings.HasPrefix(h, "*.") {
			a.Hostnames = append(a.Hostnames, h)
			continue
		}
		r.Problems = append(r.Problems, Problem{ReasonTarget, fmt.Sprintf("target %s is neither an IP address nor a hostname", quote(t))})
	}
	return a
}

// externalName returns what an ExternalName Service's names carry:
// spec.externalIPs when set (as ExternalDNS), else spec.externalName as an
// IP, as a hostname to resolve, or as a CNAME with opts.ExternalNameCNAME.
func (r *Result) externalName(svc *corev1.Service, opts Options) (Addrs, *table.Refs) {
	if ips := externalIPs(svc); len(ips) > 0 {
		return Addrs{IPs: ips}, nil
	}
	v := strings.TrimSpace(svc.Spec.ExternalName)
	if ip, err := netip.ParseAddr(v); err == nil && ip.Zone() == "" {
		return Addrs{IPs: []netip.Addr{ip.Unmap()}}, nil
	}
	h, ok := hostname(v)
	if !ok || strings.HasPrefix(h, "*.") {
		r.Problems = append(r.Problems, Problem{ReasonExternalName, fmt.Sprintf("externalName %s is neither a hostname nor an IP address", quote(svc.Spec.ExternalName))})
		return Addrs{}, nil
	}
	if opts.ExternalNameCNAME {
		return Addrs{}, &table.Refs{CNAME: h}
	}
	return Addrs{Hostnames: []string{h}}, nil
}

// gatewayNames returns the names of k8s_gateway's annotation: each value
// that is fully qualified or at or below a zone as it is, any other value
// relative to every zone.
func gatewayNames(v string, zones []string) []string {
	var out []string
	for _, n := range splitList(v) {
		n = strings.ToLower(n)
		if _, valid := hostname(n); !valid || strings.HasSuffix(n, ".") || inZones(n+".", zones) {
			out = append(out, n)
			continue
		}
		for _, z := range zones {
			if z == "." {
				out = append(out, n+".")
			} else {
				out = append(out, n+"."+z)
			}
		}
	}
	return out
}
