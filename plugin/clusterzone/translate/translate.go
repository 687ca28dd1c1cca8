// Package translate turns a Kubernetes Service into the DNS names and
// addresses it publishes. It is a pure function of the Service and the
// plugin's options: both sources (the API server and manifest files) go
// through it, so what a manifest serves in development is what a cluster
// would serve.
package translate

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
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
)

// Allow restricts the names at or below Suffix to Services in Namespaces.
type Allow struct {
	Suffix     string // lower-case FQDN
	Namespaces []string
}

// Options are the plugin options translate depends on.
type Options struct {
	// Prefixes are the annotation prefixes read, in order of precedence.
	Prefixes []string
	// Zones are the lower-case FQDN zones served; names outside all of them are dropped.
	Zones []string
	// DefaultTTL is used when the Service has no ttl annotation.
	DefaultTTL uint32
	// Controllers are the accepted values of the controller annotation.
	Controllers []string
	// Allow are the tenancy rules: a name under a rule's suffix may only be
	// published by a Service in one of its namespaces (the longest matching
	// suffix decides). Names under no rule are open to every namespace.
	Allow []Allow
}

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
	// DualStack is set when the Service asks its load balancer for both
	// address families (the AWS ip-address-type annotation).
	DualStack bool
	// External are the addresses published to external clients: load
	// balancer ingress, external IPs, or the target annotation.
	External Addrs
	// Internal are the cluster-internal addresses: every ClusterIP.
	Internal []netip.Addr
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
		slices.EqualFunc(r.Endpoints, o.Endpoints, Endpoint.equal)
}

func (e Endpoint) equal(o Endpoint) bool {
	return e.Name == o.Name && e.TTL == o.TTL && e.DualStack == o.DualStack &&
		e.External.equal(o.External) && slices.Equal(e.Internal, o.Internal)
}

func (a Addrs) equal(o Addrs) bool {
	return slices.Equal(a.IPs, o.IPs) && slices.Equal(a.Hostnames, o.Hostnames)
}

// Service translates svc. It never fails: invalid parts are dropped and
// reported in Result.Problems, and everything valid is kept.
func Service(svc *corev1.Service, opts Options) Result {
	r := Result{Key: svc.Namespace + "/" + svc.Name, UID: string(svc.UID), Created: svc.CreationTimestamp.Time}
	ann := func(key string) (string, bool) {
		for _, p := range opts.Prefixes {
			if v, ok := svc.Annotations[p+key]; ok {
				return v, true
			}
		}
		return "", false
	}

	if v, ok := ann(AnnotationIgnore); ok && strings.EqualFold(strings.TrimSpace(v), "true") {
		r.Skipped = "ignore annotation is true"
		return r
	}
	if v, ok := ann(AnnotationController); ok && !slices.Contains(opts.Controllers, strings.TrimSpace(v)) {
		r.Skipped = fmt.Sprintf("controller annotation %q is not one of %v", v, opts.Controllers)
		return r
	}

	ttl := opts.DefaultTTL
	if v, ok := ann(AnnotationTTL); ok {
		t, err := ParseTTL(v)
		if err != nil {
			r.Problems = append(r.Problems, Problem{ReasonTTL, fmt.Sprintf("ttl %q: %v; using %d", v, err, ttl)})
		} else {
			ttl = t
		}
	}

	internal := Addrs{IPs: clusterIPs(svc)}
	external := Addrs{}
	if v, ok := ann(AnnotationTarget); ok {
		for _, t := range splitList(v) {
			if ip, err := netip.ParseAddr(t); err == nil && ip.Zone() == "" {
				external.IPs = append(external.IPs, ip.Unmap())
				continue
			}
			if h, ok := hostname(t); ok && !strings.HasPrefix(h, "*.") {
				external.Hostnames = append(external.Hostnames, h)
				continue
			}
			r.Problems = append(r.Problems, Problem{ReasonTarget, fmt.Sprintf("target %q is neither an IP address nor a hostname", t)})
		}
	} else {
		external = serviceAddrs(svc)
	}
	if external.Empty() && (svc.Spec.Type == corev1.ServiceTypeClusterIP || svc.Spec.Type == "") {
		// A ClusterIP Service has no other address: its names carry the ClusterIPs.
		external.IPs = internal.IPs
	}
	dual := strings.EqualFold(svc.Annotations[AnnotationAWSIPAddressType], "dualstack")
	external.IPs, internal.IPs = dedupIPs(external.IPs), dedupIPs(internal.IPs)
	external.Hostnames = dedupStrings(external.Hostnames)

	seen := map[string]int{}
	add := func(list string, ext Addrs) {
		for _, n := range splitList(list) {
			name, ok := hostname(n)
			if !ok {
				r.Problems = append(r.Problems, Problem{ReasonHostname, fmt.Sprintf("hostname %q is not a valid DNS name", n)})
				continue
			}
			if !inZones(name, opts.Zones) {
				r.Problems = append(r.Problems, Problem{ReasonOutside, fmt.Sprintf("hostname %q is outside the zones %v", n, opts.Zones)})
				continue
			}
			if a, ok := allowed(name, svc.Namespace, opts.Allow); !ok {
				r.Problems = append(r.Problems, Problem{ReasonNotAllowed, fmt.Sprintf("hostname %q: names under %s may only be published from namespaces %v", n, a.Suffix, a.Namespaces)})
				continue
			}
			if i, dup := seen[name]; dup {
				// Listed twice (or as both hostname and internal-hostname): merge.
				e := &r.Endpoints[i]
				e.External.IPs = dedupIPs(append(e.External.IPs, ext.IPs...))
				e.External.Hostnames = dedupStrings(append(e.External.Hostnames, ext.Hostnames...))
				continue
			}
			seen[name] = len(r.Endpoints)
			r.Endpoints = append(r.Endpoints, Endpoint{
				Name: name, TTL: ttl, DualStack: dual,
				// Shared, not copied (a Service's names usually carry the
				// same addresses), and clipped: the merge above appends to
				// a new array.
				External: Addrs{IPs: slices.Clip(ext.IPs), Hostnames: slices.Clip(ext.Hostnames)},
				Internal: slices.Clip(internal.IPs),
			})
		}
	}
	if v, ok := ann(AnnotationHostname); ok {
		add(v, external)
	}
	if v, ok := ann(AnnotationInternalHostname); ok {
		// internal-hostname names publish the ClusterIPs in every view.
		add(v, internal)
	}
	return r
}

// ParseTTL parses a ttl annotation: whole seconds or a Go duration, 1..2147483647 seconds.
func ParseTTL(s string) (uint32, error) {
	s = strings.TrimSpace(s)
	var secs int64
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		secs = n
	} else if d, derr := time.ParseDuration(s); derr == nil {
		if d%time.Second != 0 {
			return 0, fmt.Errorf("duration %s is not a whole number of seconds", d)
		}
		secs = int64(d / time.Second)
	} else {
		return 0, fmt.Errorf("not a number of seconds or a duration")
	}
	if secs < 1 || secs > 2147483647 {
		return 0, fmt.Errorf("out of range 1..2147483647")
	}
	return uint32(secs), nil
}

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

// serviceAddrs returns the externally reachable addresses of svc: load
// balancer ingress (IPs and hostnames) and spec.externalIPs.
func serviceAddrs(svc *corev1.Service) Addrs {
	var a Addrs
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
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
	}
	for _, s := range svc.Spec.ExternalIPs {
		if ip, err := netip.ParseAddr(s); err == nil {
			a.IPs = append(a.IPs, ip.Unmap())
		}
	}
	return a
}

// hostname validates and canonicalizes a DNS name: lower case, fully
// qualified, LDH labels of 1..63 octets (a leading "*" label is allowed).
func hostname(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == "." {
		return "", false
	}
	s = dns.Fqdn(s)
	if len(s) > 254 {
		return "", false
	}
	labels := strings.Split(strings.TrimSuffix(s, "."), ".")
	for i, l := range labels {
		if i == 0 && l == "*" && len(labels) > 1 {
			continue
		}
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", false
			}
		}
	}
	return s, true
}

// inZones reports whether name is at or below one of zones.
func inZones(name string, zones []string) bool {
	if strings.HasPrefix(name, "*.") && slices.Contains(zones, name[2:]) {
		return false // a wildcard at the apex would cover the zone's own SOA/NS
	}
	for _, z := range zones {
		if dns.IsSubDomain(z, name) {
			return true
		}
	}
	return false
}

// allowed applies the tenancy rules to name published from namespace ns; it
// returns the deciding rule.
func allowed(name, ns string, rules []Allow) (Allow, bool) {
	var best Allow
	for _, a := range rules {
		if len(a.Suffix) > len(best.Suffix) && dns.IsSubDomain(a.Suffix, name) {
			best = a
		}
	}
	if best.Suffix == "" {
		return best, true
	}
	return best, slices.Contains(best.Namespaces, ns)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
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
