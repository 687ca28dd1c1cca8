package table

import (
	"net/netip"
	"slices"
	"strings"
)

// View selects which addresses a name carries.
type View int

// The views.
const (
	// External: load balancer ingress, external IPs and targets.
	External View = iota
	// Internal: ClusterIPs.
	Internal
	// All: both.
	All
	numViews
)

// ParseView parses "external", "internal" or "all".
func ParseView(s string) (View, bool) {
	switch strings.ToLower(s) {
	case "external":
		return External, true
	case "internal":
		return Internal, true
	case "all":
		return All, true
	}
	return External, false
}

func (v View) String() string {
	return [...]string{"external", "internal", "all"}[v]
}

// Owner identifies the Service that publishes a record set.
type Owner struct {
	// Key is "namespace/name".
	Key string
	// Created is the Service's creation time in Unix seconds (the
	// precision of Kubernetes' creationTimestamp).
	Created int64
}

// before reports whether o wins a name over p: the older Service, then the
// smaller namespace/name.
func (o Owner) before(p Owner) bool {
	if o.Created != p.Created {
		return o.Created < p.Created
	}
	return o.Key < p.Key
}

// Kind is the kind of Service a record set's addresses come from.
type Kind uint8

// The kinds.
const (
	// KindClusterIP: the ClusterIPs (or external IPs) of a ClusterIP Service.
	KindClusterIP Kind = iota
	// KindLoadBalancer: a load balancer's ingress (IPs, or hostnames such
	// as an AWS NLB's) or the Service's external IPs.
	KindLoadBalancer
	// KindNodePort: node addresses of a NodePort Service (and its SRV records).
	KindNodePort
	// KindExternalName: spec.externalName, an IP or a hostname (then in
	// Aliases, resolved into External; or served as a CNAME).
	KindExternalName
	// KindHeadless: the endpoints of a headless Service.
	KindHeadless
	// KindTarget: the target annotation replaced the discovered addresses.
	KindTarget
)

var kindNames = [...]string{"ClusterIP", "LoadBalancer", "NodePort", "ExternalName", "Headless", "target"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// SRV is one SRV record's data (RFC 2782).
type SRV struct {
	Priority, Weight, Port uint16
	// Target is a lower-case FQDN.
	Target string
}

// Refs are the records of a name that refer to other names. A name holds a
// CNAME or SRV records, not both.
type Refs struct {
	// CNAME is the canonical name (a lower-case FQDN) when the name is an
	// alias: it then has no other records (RFC 1034 section 3.6.2), not
	// even its ownership TXT.
	CNAME string
	// SRV are the name's SRV records, sorted.
	SRV []SRV
}

// Equal reports whether r and o hold the same records (both nil: equal).
func (r *Refs) Equal(o *Refs) bool {
	if r == nil || o == nil {
		return r == o
	}
	return r.CNAME == o.CNAME && slices.Equal(r.SRV, o.SRV)
}

// RecordSet is what one Service publishes at one name, addresses resolved.
type RecordSet struct {
	// Name is the lower-case FQDN, possibly a wildcard ("*.apps.example.org.").
	Name string
	TTL  uint32
	// TTLSet is set when TTL comes from the Service's ttl annotation rather
	// than the plugin's default: without it, the Route 53 mirror writes its
	// own default, as ExternalDNS does.
	TTLSet bool
	// DualStack is set when the Service asks for a dual-stack load balancer.
	DualStack bool
	// ClusterIPOnly is set when External holds the ClusterIPs of a
	// ClusterIP Service without external IPs, named by its hostname
	// annotation: served as its external addresses, but ExternalDNS
	// publishes them only with --publish-internal-services, and the Route 53
	// mirror keeps them out of public hosted zones unless asked.
	ClusterIPOnly bool
	// Kind is where the addresses come from.
	Kind     Kind
	External []netip.Addr
	Internal []netip.Addr
	// Aliases are the hostnames the External addresses were resolved from:
	// a load balancer's (the Route 53 mirror writes ALIAS records to an AWS
	// one), a target annotation's, or an ExternalName (Kind says which).
	Aliases []string
	// AliasesOnly is set when every External address was resolved from
	// Aliases (no IP of the Service's own): the Route 53 mirror may then
	// write a CNAME or an ALIAS to the hostname instead.
	AliasesOnly bool
	// AliasOptions are the Service's alias and aws-evaluate-target-health
	// annotations; nil for almost every name.
	AliasOptions *AliasOptions
	// Refs are the name's CNAME or SRV records; nil for almost every name.
	Refs *Refs
	// Routing is the Route 53 routing policy of the name's records
	// (ExternalDNS's set-identifier and aws-* annotations); nil for almost
	// every name. The served zone ignores it: it answers with this
	// cluster's own addresses.
	Routing *Routing
}

// Routing policies (Routing.Policy), named as Route 53 names them.
const (
	RoutingWeighted     = "weighted"
	RoutingLatency      = "latency"
	RoutingFailover     = "failover"
	RoutingGeolocation  = "geolocation"
	RoutingGeoproximity = "geoproximity"
	RoutingMultiValue   = "multivalue"
)

// Routing is a Route 53 routing policy: the record sets of one name and
// type are told apart by their SetIdentifier, each with the same one
// policy. Only the fields of Policy are set. Comparable: == is equality.
type Routing struct {
	SetIdentifier string
	// Policy is one of the Routing constants; "" only with Invalid.
	Policy string
	// Weight (weighted): 0..255.
	Weight int64
	// Region (latency): an AWS region.
	Region string
	// Failover: PRIMARY or SECONDARY.
	Failover string
	// Geolocation: a continent code, or a country code with an optional
	// subdivision code ("*" is the default location).
	Continent, Country, Subdivision string
	// Geoproximity: an AWS region, a Local Zone group or coordinates
	// (Latitude and Longitude as written), and the bias (-99..99).
	ProximityRegion, LocalZoneGroup, Latitude, Longitude string
	Bias                                                 int32
	// HealthCheckID is the Route 53 health check of the records (any policy).
	HealthCheckID string
	// Invalid says why the routing annotations cannot be written: the
	// Route 53 mirror then leaves the name alone (writing it without the
	// policy asked for would publish what no one asked for). Empty when valid.
	Invalid string
}

// AliasOptions say how the Route 53 mirror writes a hostname target
// (ExternalDNS's alias and aws-evaluate-target-health annotations).
// Comparable: == is equality.
type AliasOptions struct {
	// Alias asks for ALIAS records where a CNAME would be written: to a
	// record of the same hosted zone, or to an AWS target.
	Alias bool
	// EvaluateTargetHealth, when set, is the ALIAS records'
	// EvaluateTargetHealth in place of the mirror's evaluate-target-health.
	EvaluateTargetHealth TargetHealth
}

// TargetHealth is an ALIAS record's EvaluateTargetHealth as a Service asks
// for it.
type TargetHealth uint8

// TargetHealth values.
const (
	// TargetHealthDefault keeps the mirror's evaluate-target-health.
	TargetHealthDefault TargetHealth = iota
	// TargetHealthOff writes EvaluateTargetHealth false.
	TargetHealthOff
	// TargetHealthOn writes EvaluateTargetHealth true.
	TargetHealthOn
)

// Equal reports whether a and o are the same options (both nil: equal).
func (a *AliasOptions) Equal(o *AliasOptions) bool {
	if a == nil || o == nil {
		return a == o
	}
	return *a == *o
}

// Equal reports whether r and o are the same routing (both nil: equal).
func (r *Routing) Equal(o *Routing) bool {
	if r == nil || o == nil {
		return r == o
	}
	return *r == *o
}

// equal reports whether two record sets publish the same thing.
func (s RecordSet) equal(o RecordSet) bool {
	return s.Name == o.Name && s.TTL == o.TTL && s.TTLSet == o.TTLSet && s.DualStack == o.DualStack &&
		s.ClusterIPOnly == o.ClusterIPOnly && s.Kind == o.Kind &&
		slices.Equal(s.External, o.External) && slices.Equal(s.Internal, o.Internal) &&
		slices.Equal(s.Aliases, o.Aliases) && s.AliasesOnly == o.AliasesOnly && s.AliasOptions.Equal(o.AliasOptions) &&
		s.Refs.Equal(o.Refs) && s.Routing.Equal(o.Routing)
}

// CNAME returns the name's canonical name, "" when it is not an alias.
func (s *RecordSet) CNAME() string {
	if s.Refs == nil {
		return ""
	}
	return s.Refs.CNAME
}

// views returns the views in which s publishes anything, one bit per View.
// A name without records in a view does not exist there: a Service whose
// load balancer has no address yet publishes nothing (NXDOMAIN), as
// ExternalDNS does, while keeping its claim on the name. SRV records point at
// node ports, which are reached through the external addresses only.
func (s *RecordSet) views() uint8 {
	cname := s.CNAME() != ""
	ext := len(s.External) > 0 || cname || s.Refs != nil && len(s.Refs.SRV) > 0
	in := len(s.Internal) > 0 || cname
	var m uint8
	if ext {
		m |= 1 << External
	}
	if in {
		m |= 1 << Internal
	}
	if ext || in {
		m |= 1 << All
	}
	return m
}

// Entry is a published record set with its owner. Its exported fields are
// immutable once in the table: readers may keep entries. An entry holds addresses, not
// DNS records: the records are built when asked for (Records, All), which
// keeps a name's cost in memory to the entry and its map slot.
type Entry struct {
	Owner Owner
	Set   RecordSet
	// views caches Set.views().
	views uint8
	// sole is set when this is the only name its owner claims (what
	// almost every Service has): a change of that Service then finds its
	// names from here, without a lookup in byOwner. Written under the
	// table's write lock only, never read by readers.
	sole bool
}

// addrs returns the addresses of view v: the record set's own slice for
// External and Internal, their sorted union (IPv4 first) built in buf for All.
func (e *Entry) addrs(buf []netip.Addr, v View) []netip.Addr {
	switch v {
	case External:
		return e.Set.External
	case Internal:
		return e.Set.Internal
	}
	return unionInto(buf, e.Set.External, e.Set.Internal)
}

// In reports whether e publishes anything in view v.
func (e *Entry) In(v View) bool { return e.views&(1<<v) != 0 }

// unionInto appends a and b to dst and returns it sorted, without duplicates.
func unionInto(dst, a, b []netip.Addr) []netip.Addr {
	out := append(append(dst, a...), b...)
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}
