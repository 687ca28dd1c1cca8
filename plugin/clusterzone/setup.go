package clusterzone

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/externaldns"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/route53"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/source/kube"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	coreparse "github.com/coredns/coredns/plugin/pkg/parse"
	"github.com/miekg/dns"
)

// pluginName is the name of the plugin in the Corefile and in dnsserver.Directives.
const pluginName = "clusterzone"

var log = clog.NewWithPlugin(pluginName)

func init() { plugin.Register(pluginName, setup) }

func setup(c *caddy.Controller) error {
	cz, cfg, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}

	// Every server block (and every view) gets its own instance; they share
	// one source and one record table per configuration.
	cz.shared = lookupShared(cfg, cz.Zones)

	// The user is counted at startup, not here: an instance that fails to
	// set up (a later plugin's error) never starts, and never shuts down.
	c.OnStartup(func() error {
		if err := cz.shared.acquire(); err != nil {
			return plugin.Error(pluginName, err)
		}
		cz.startNotify(dnsserver.GetConfig(c).Handler("transfer"))
		return nil
	})
	c.OnShutdown(func() error {
		cz.stopNotify()
		return cz.shared.release()
	})

	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		cz.Next = next
		return cz
	})
	return nil
}

// sharedConfig is everything that decides what the source and the record
// table hold; server blocks with equal sharedConfig share them.
type sharedConfig struct {
	manifests []string
	kube      kube.Config
	useKube   bool
	translate translate.Options
	ownerID   string
	resolvers []string
	events    bool
	route53   *route53.Config
	// journalEntries and journalBytes cap each zone's IXFR journal.
	journalEntries, journalBytes int
	// serialLease is the Lease "NAMESPACE/NAME" through which replicas
	// announce their start (kube.RunSerialLease); "" for none.
	serialLease string
}

// key identifies the configuration for sharing.
func (s sharedConfig) key() string {
	return fmt.Sprintf("%q|%s|%v|%+v|%q|%v|%v", s.manifests, s.kube.Key(), s.useKube,
		s.translate, s.ownerID, s.resolvers, s.events) + fmt.Sprintf("|%+v|%d|%d|%s", s.route53, s.journalEntries, s.journalBytes, s.serialLease)
}

// Defaults.
const (
	defaultTTL   = 60
	defaultOwner = "default"
)

// Bounds of ixfr-journal.
const (
	maxJournalEntries = 10_000_000
	minJournalBytes   = 1 << 10
	maxJournalBytes   = 1 << 40
)

func parse(c *caddy.Controller) (*Clusterzone, sharedConfig, error) {
	cz := &Clusterzone{view: table.External}
	cfg := sharedConfig{
		translate: translate.Options{
			// ExternalDNS's default prefix since v0.22 first; the alpha
			// prefix (its default before) stays accepted.
			Prefixes:    []string{translate.PrefixGA, translate.PrefixAlpha},
			DefaultTTL:  defaultTTL,
			Controllers: translate.DefaultControllers,
		},
		ownerID:        defaultOwner,
		events:         true,
		journalEntries: table.DefaultJournalEntries,
		journalBytes:   table.DefaultJournalBytes,
	}
	var nsName, serialLease string
	var nsAddrs []netip.Addr
	i := 0
	for c.Next() {
		if i++; i > 1 {
			return nil, cfg, plugin.ErrOnce
		}
		zones, err := parseZones(c, c.RemainingArgs())
		if err != nil {
			return nil, cfg, err
		}
		cz.Zones = zones
		if len(cz.Zones) == 0 {
			return nil, cfg, c.Errf("no zones: give them as arguments or as server block keys")
		}
		for c.NextBlock() {
			switch opt := c.Val(); opt {
			case "manifests":
				args := c.RemainingArgs()
				if len(args) == 0 {
					return nil, cfg, c.ArgErr()
				}
				cfg.manifests = append(cfg.manifests, args...)
			case "kubeconfig":
				args := c.RemainingArgs()
				if len(args) < 1 || len(args) > 2 {
					return nil, cfg, c.Errf("kubeconfig needs PATH [CONTEXT]")
				}
				cfg.useKube = true
				cfg.kube.Kubeconfig = args[0]
				if len(args) == 2 {
					cfg.kube.Context = args[1]
				}
			case "namespaces":
				args := c.RemainingArgs()
				if len(args) == 0 {
					return nil, cfg, c.ArgErr()
				}
				cfg.useKube = true
				cfg.kube.Namespaces = append(cfg.kube.Namespaces, args...)
			case "labels":
				args := c.RemainingArgs()
				if len(args) == 0 {
					return nil, cfg, c.ArgErr()
				}
				cfg.useKube = true
				cfg.kube.Labels = strings.Join(args, " ")
				if err := cfg.kube.Validate(); err != nil {
					return nil, cfg, c.Errf("labels: %v", err)
				}
			case "ttl":
				t, err := oneUint(c, "ttl", 1, 2147483647)
				if err != nil {
					return nil, cfg, err
				}
				cfg.translate.DefaultTTL = t
			case "max-addresses":
				n, err := oneUint(c, "max-addresses", 1, translate.LimitMaxAddresses)
				if err != nil {
					return nil, cfg, err
				}
				cfg.translate.MaxAddresses = int(n)
			case "owner-id":
				args := c.RemainingArgs()
				if len(args) != 1 {
					return nil, cfg, c.ArgErr()
				}
				if err := checkOwnerID(args[0]); err != nil {
					return nil, cfg, c.Errf("owner-id %q %v", args[0], err)
				}
				cfg.ownerID = args[0]
			case "annotation-prefix":
				args := c.RemainingArgs()
				if len(args) == 0 {
					return nil, cfg, c.ArgErr()
				}
				cfg.translate.Prefixes = nil
				for _, p := range args {
					if !strings.HasSuffix(p, "/") {
						p += "/"
					}
					cfg.translate.Prefixes = append(cfg.translate.Prefixes, p)
				}
			case "controller":
				args := c.RemainingArgs()
				if len(args) == 0 {
					return nil, cfg, c.ArgErr()
				}
				cfg.translate.Controllers = args
			case "addresses":
				args := c.RemainingArgs()
				if len(args) != 1 {
					return nil, cfg, c.ArgErr()
				}
				v, ok := table.ParseView(args[0])
				if !ok {
					return nil, cfg, c.Errf("addresses must be external, internal or all, not %q", args[0])
				}
				cz.view = v
			case "ns":
				args := c.RemainingArgs()
				if len(args) == 0 {
					return nil, cfg, c.ArgErr()
				}
				if _, ok := dns.IsDomainName(args[0]); !ok {
					return nil, cfg, c.Errf("ns name %q is not a valid domain name", args[0])
				}
				nsName = strings.ToLower(dns.Fqdn(args[0]))
				for _, a := range args[1:] {
					ip, err := netip.ParseAddr(a)
					if err != nil {
						return nil, cfg, c.Errf("ns address %q is not an IP address", a)
					}
					nsAddrs = append(nsAddrs, ip.Unmap())
				}
			case "resolver":
				args := c.RemainingArgs()
				if len(args) == 0 {
					return nil, cfg, c.ArgErr()
				}
				for _, a := range args {
					addr, err := hostPort(a)
					if err != nil {
						return nil, cfg, c.Errf("resolver %q: %v", a, err)
					}
					cfg.resolvers = append(cfg.resolvers, addr)
				}
			case "allow":
				args := c.RemainingArgs()
				if len(args) < 2 {
					return nil, cfg, c.Errf("allow needs SUFFIX NAMESPACE...")
				}
				if _, ok := dns.IsDomainName(args[0]); !ok {
					return nil, cfg, c.Errf("allow suffix %q is not a valid domain name", args[0])
				}
				cfg.translate.Allow = append(cfg.translate.Allow, translate.Allow{Suffix: strings.ToLower(dns.Fqdn(args[0])), Namespaces: args[1:]})
			case "events":
				args := c.RemainingArgs()
				if len(args) != 1 || (args[0] != "on" && args[0] != "off") {
					return nil, cfg, c.Errf("events must be on or off")
				}
				cfg.events = args[0] == "on"
			case "externalname":
				args := c.RemainingArgs()
				if len(args) != 1 || (args[0] != "cname" && args[0] != "address") {
					return nil, cfg, c.Errf("externalname must be cname or address")
				}
				cfg.translate.ExternalNameCNAME = args[0] == "cname"
			case "always-publish-not-ready-addresses", "publish-host-ip", "expose-internal-ipv6":
				if len(c.RemainingArgs()) != 0 {
					return nil, cfg, c.Errf("%s takes no arguments", opt)
				}
				switch opt {
				case "always-publish-not-ready-addresses":
					cfg.translate.AlwaysPublishNotReady = true
				case "publish-host-ip":
					cfg.translate.PublishHostIP = true
				default:
					cfg.translate.ExposeInternalIPv6 = true
				}
			case "compat":
				args := c.RemainingArgs()
				if len(args) != 1 || args[0] != "k8s_gateway" {
					return nil, cfg, c.Errf("compat must be k8s_gateway (read its %s annotation too)", translate.AnnotationGatewayHostname)
				}
				cfg.translate.GatewayHostname = true
			case "service-types":
				args := c.RemainingArgs()
				if len(args) == 0 {
					return nil, cfg, c.ArgErr()
				}
				for _, a := range args {
					if !slices.Contains(translate.ServiceTypes, a) {
						return nil, cfg, c.Errf("service type %q is not one of %v", a, translate.ServiceTypes)
					}
				}
				cfg.translate.ServiceTypes = args
			case "fallthrough":
				cz.Fall.SetZonesFromArgs(c.RemainingArgs())
			case "ixfr-journal":
				args := c.RemainingArgs()
				if len(args) < 1 || len(args) > 2 {
					return nil, cfg, c.Errf("ixfr-journal needs ENTRIES [BYTES]")
				}
				n, err := strconv.ParseUint(args[0], 10, 32)
				if err != nil || n > maxJournalEntries {
					return nil, cfg, c.Errf("ixfr-journal entries must be a whole number in 0..%d, not %q", maxJournalEntries, args[0])
				}
				cfg.journalEntries = int(n)
				if len(args) == 2 {
					b, err := strconv.ParseUint(args[1], 10, 64)
					if err != nil || b < minJournalBytes || b > maxJournalBytes {
						return nil, cfg, c.Errf("ixfr-journal bytes must be a whole number in %d..%d, not %q", minJournalBytes, maxJournalBytes, args[1])
					}
					cfg.journalBytes = int(b)
				}
			case "serial-lease":
				args := c.RemainingArgs()
				if len(args) != 1 {
					return nil, cfg, c.Errf("serial-lease needs NAMESPACE/NAME or off")
				}
				if args[0] == "off" {
					serialLease = "off"
					continue
				}
				ns, name, err := kube.ParseLeaseName(args[0])
				if err != nil {
					return nil, cfg, c.Errf("serial-lease %v", err)
				}
				serialLease = ns + "/" + name
			case "route53":
				r, err := route53.ParseConfig(c)
				if err != nil {
					return nil, cfg, err
				}
				cfg.route53 = &r
			default:
				return nil, cfg, c.Errf("unknown property '%s'", opt)
			}
		}
	}
	if len(cfg.manifests) > 0 && cfg.useKube {
		return nil, cfg, c.Errf("manifests cannot be combined with kubeconfig, namespaces or labels: use one source per block")
	}
	if len(cfg.manifests) == 0 {
		cfg.useKube = true
	}
	switch {
	case serialLease != "" && !cfg.useKube:
		return nil, cfg, c.Errf("serial-lease needs the Kubernetes source, not manifests")
	case serialLease == "" && cfg.useKube:
		cfg.serialLease = kube.PodNamespace() + "/" + kube.DefaultSerialLease
	case serialLease != "off":
		cfg.serialLease = serialLease
	}
	// EndpointSlices for headless (ClusterIP) and NodePort Services, Nodes
	// for NodePort ones: watched only when those types are published.
	types := cfg.translate.ServiceTypes
	cfg.kube.EndpointSlices = len(types) == 0 || slices.Contains(types, "ClusterIP") || slices.Contains(types, "NodePort")
	cfg.kube.Nodes = len(types) == 0 || slices.Contains(types, "NodePort")
	if cfg.route53 != nil {
		cfg.route53.OwnerID = cfg.ownerID
		if r := cfg.route53.ClusterRouting; r != nil && r.SetIdentifier == "" && len(cfg.ownerID) > route53.MaxSetIdentifier {
			return nil, cfg, c.Errf("cluster-routing: the owner id %q is its set identifier and longer than Route 53's %d characters: give set-identifier ID", cfg.ownerID, route53.MaxSetIdentifier)
		}
		for _, z := range cfg.route53.Zones {
			if plugin.Zones(cz.Zones).Matches(z.Name) == "" {
				return nil, cfg, c.Errf("route53 zone %s is not one of this block's zones %v", z.Name, cz.Zones)
			}
		}
	}
	cz.setNS(nsName, nsAddrs)
	return cz, cfg, nil
}

// parseZones returns the zones of a block: its arguments or else its server
// block keys, normalized as plugin.OriginsFromArgsOrServerBlock does
// (transport and port dropped, lower case, fully qualified; an argument in
// reverse CIDR notation gives its reverse zones, a server block key only its
// first, CoreDNS having expanded the keys already). Unlike
// OriginsFromArgsOrServerBlock, a value that does not normalize is an error,
// not dropped (an argument) or kept as it is (a key), and every zone must pass
// checkZone.
func parseZones(c *caddy.Controller, args []string) ([]string, error) {
	values, what := args, "zone"
	if len(args) == 0 {
		values, what = c.ServerBlockKeys, "server block zone"
	}
	var zones []string
	for _, v := range values {
		_, host := coreparse.Transport(v)
		hosts, _, err := plugin.SplitHostPort(host)
		if err != nil {
			return nil, c.Errf("%s %q is not a valid domain name: %v", what, v, err)
		}
		if len(args) == 0 {
			hosts = hosts[:1]
		}
		for _, h := range hosts {
			z := plugin.Name(h).Normalize()
			if err := checkZone(h, z); err != nil {
				return nil, c.Errf("%s %q %v", what, v, err)
			}
			zones = append(zones, z)
		}
	}
	return zones, nil
}

// checkZone checks the zone z, normalized from host. The record table and the
// translation match names to zones by string suffix and take zones to be
// lower-case FQDNs of plain labels, so z must be one: letters, digits, '-' and
// '_' in labels of 1 to 63 octets, 255 octets in all, or the root zone ".".
// host is checked for non-ASCII too, which lower-casing can turn into ASCII
// (U+212A KELVIN SIGN into 'k').
func checkZone(host, z string) error {
	for _, r := range host {
		if r >= utf8.RuneSelf {
			return fmt.Errorf("holds the non-ASCII character %q (%U): write the name in its ASCII (xn--) form", r, r)
		}
	}
	if z == "." {
		return nil
	}
	for _, r := range z {
		switch {
		case r == '\\':
			return fmt.Errorf("holds a backslash escape: zone labels may hold only letters, digits, '-' and '_'")
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return fmt.Errorf("holds %q: zone labels may hold only letters, digits, '-' and '_'", r)
		}
	}
	if !dns.IsFqdn(z) || strings.HasPrefix(z, ".") || strings.Contains(z, "..") {
		return fmt.Errorf("is not a valid domain name: it has an empty label")
	}
	if _, ok := dns.IsDomainName(z); !ok {
		return fmt.Errorf("is not a valid domain name: a label is longer than 63 octets or the name longer than 255")
	}
	return nil
}

// checkOwnerID checks an owner id for the ownership TXT records: 1 to
// externaldns.MaxOwnerIDLen characters, printable ASCII but for ',' and '=', which
// separate the labels of ExternalDNS's format (key=value,key=value), and '"'
// and '\\', which TXT presentation (and Route 53) escape. Letters, digits and
// "-_./:" (cluster names, ARN-like ids) are all accepted. ExternalDNS itself
// does not check --txt-owner-id.
func checkOwnerID(id string) error {
	if id == "" {
		return fmt.Errorf("is empty")
	}
	for _, r := range id {
		switch {
		case r >= utf8.RuneSelf:
			return fmt.Errorf("holds the non-ASCII character %q (%U): the owner id must be printable ASCII", r, r)
		case r <= ' ' || r == 0x7f:
			return fmt.Errorf("holds the space or control character %q: the owner id must be printable ASCII", r)
		case r == ',' || r == '=':
			return fmt.Errorf("holds %q, which separates the labels of the ownership TXT record", r)
		case r == '"' || r == '\\':
			return fmt.Errorf("holds %q, which TXT records escape", r)
		}
	}
	if len(id) > externaldns.MaxOwnerIDLen {
		return fmt.Errorf("is %d characters long, more than %d: the ownership TXT record of a Service with a 63-character namespace and name would exceed 255 octets", len(id), externaldns.MaxOwnerIDLen)
	}
	return nil
}

func oneUint(c *caddy.Controller, name string, lo, hi uint64) (uint32, error) {
	args := c.RemainingArgs()
	if len(args) != 1 {
		return 0, c.ArgErr()
	}
	n, err := strconv.ParseUint(args[0], 10, 32)
	if err != nil || n < lo || n > hi {
		return 0, c.Errf("%s must be a whole number in %d..%d, not %q", name, lo, hi, args[0])
	}
	return uint32(n), nil
}

// hostPort checks a resolver address and adds the default port 53.
func hostPort(s string) (string, error) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return net.JoinHostPort(ip.String(), "53"), nil
	}
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", err
	}
	if _, err := netip.ParseAddr(h); err != nil {
		return "", fmt.Errorf("not an IP address")
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("bad port %q", p)
	}
	return s, nil
}
