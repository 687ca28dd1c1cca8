package clusterzone

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/route53"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/source/kube"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	clog "github.com/coredns/coredns/plugin/pkg/log"
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
	cz.shared = acquireShared(c, cfg)
	cz.shared.addZones(cz.Zones)

	c.OnStartup(func() error {
		if err := cz.shared.start(); err != nil {
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
}

// key identifies the configuration for sharing.
func (s sharedConfig) key() string {
	return fmt.Sprintf("%q|%s|%v|%q|%d|%q|%v|%q|%v|%v", s.manifests, s.kube.Key(), s.useKube,
		s.translate.Prefixes, s.translate.DefaultTTL, s.translate.Controllers, s.translate.Allow,
		s.ownerID, s.resolvers, s.events) + fmt.Sprintf("|%+v", s.route53)
}

// Defaults.
const (
	defaultTTL   = 60
	defaultOwner = "default"
)

func parse(c *caddy.Controller) (*Clusterzone, sharedConfig, error) {
	cz := &Clusterzone{view: table.External}
	cfg := sharedConfig{
		translate: translate.Options{
			Prefixes:    []string{translate.PrefixAlpha, translate.PrefixGA},
			DefaultTTL:  defaultTTL,
			Controllers: translate.DefaultControllers,
		},
		ownerID: defaultOwner,
		events:  true,
	}
	var nsName string
	var nsAddrs []netip.Addr
	i := 0
	for c.Next() {
		if i++; i > 1 {
			return nil, cfg, plugin.ErrOnce
		}
		args := c.RemainingArgs()
		for _, z := range args {
			if _, ok := dns.IsDomainName(z); !ok || strings.Contains(z, "..") {
				return nil, cfg, c.Errf("zone %q is not a valid domain name", z)
			}
		}
		cz.Zones = plugin.OriginsFromArgsOrServerBlock(args, c.ServerBlockKeys)
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
			case "owner-id":
				args := c.RemainingArgs()
				if len(args) != 1 {
					return nil, cfg, c.ArgErr()
				}
				if strings.ContainsAny(args[0], ",\"= ") {
					return nil, cfg, c.Errf("owner-id %q must not contain ',', '=', '\"' or spaces", args[0])
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
			case "fallthrough":
				cz.Fall.SetZonesFromArgs(c.RemainingArgs())
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
	if cfg.route53 != nil {
		cfg.route53.OwnerID = cfg.ownerID
		for z := range cfg.route53.Zones {
			if plugin.Zones(cz.Zones).Matches(z) == "" {
				return nil, cfg, c.Errf("route53 zone %s is not one of this block's zones %v", z, cz.Zones)
			}
		}
	}
	cz.setNS(nsName, nsAddrs)
	return cz, cfg, nil
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
