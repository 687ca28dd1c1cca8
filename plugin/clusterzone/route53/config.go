package route53

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/externaldns"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/source/kube"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin/pkg/durations"
	"github.com/miekg/dns"
)

// Policies, as ExternalDNS names them.
const (
	// PolicySync creates, updates and deletes the records the mirror owns.
	PolicySync = "sync"
	// PolicyUpsertOnly creates and updates, and never deletes.
	PolicyUpsertOnly = "upsert-only"
	// PolicyCreateOnly only creates records (and their ownership TXT).
	PolicyCreateOnly = "create-only"
)

// Defaults used when the Corefile leaves an option out.
const (
	// DefaultPolicy never deletes: records whose Service went away are kept
	// (and logged) until the operator opts in to deletion with policy sync.
	DefaultPolicy = PolicyUpsertOnly
	// DefaultInterval is the period of the full reconcile (one listing of
	// each hosted zone).
	DefaultInterval = 10 * time.Minute
	// DefaultDebounce is how long changes are collected before one sync.
	DefaultDebounce = time.Second
	// DefaultLeaseName is the name of the leader-election Lease.
	DefaultLeaseName = "clusterzone-route53"
	// DefaultBatchSize is the most changes sent in one
	// ChangeResourceRecordSets call (Route 53's own limit).
	DefaultBatchSize = 1000
	// DefaultRateLimit is the most Route 53 API requests per second the
	// mirror sends (Route 53 allows five per second per account).
	DefaultRateLimit = 5.0
	// DefaultTTL is the TTL of the records the mirror writes for Services
	// without a ttl annotation: ExternalDNS's default on AWS, so that taking
	// over a zone it filled changes no TTL. The served zone keeps its own
	// default.
	DefaultTTL = 300
	// DefaultRegion is used when neither the Corefile nor the AWS
	// configuration sets one; Route 53 is a global service and the region
	// only selects the partition.
	DefaultRegion = "us-east-1"
)

// Hosted zone types, as ExternalDNS's --aws-zone-type names them.
const (
	// ZonePublic is a public hosted zone: external addresses only.
	ZonePublic = "public"
	// ZonePrivate is a private hosted zone (associated with VPCs): it may
	// hold internal addresses (ClusterIPs).
	ZonePrivate = "private"
)

// Zone is one hosted zone the mirror writes.
type Zone struct {
	// Name is the zone's FQDN, lower-case.
	Name string
	// ID is the hosted zone id; empty: found by Name (and Type) at start.
	ID string
	// Type is ZonePublic, ZonePrivate or empty (either; learned at start).
	Type string
}

// Config configures the Route 53 mirror.
type Config struct {
	Zones    []Zone
	Region   string        // AWS region; empty: from the AWS configuration, else us-east-1
	Endpoint string        // optional endpoint URL override (VPC endpoints, tests against moto)
	Policy   string        // "sync" | "upsert-only" | "create-only"; default upsert-only
	DryRun   bool          // compute and log the plan, change nothing
	Interval time.Duration // full reconcile period
	Debounce time.Duration // event-driven sync delay

	LeaseNamespace, LeaseName string // leader-election Lease

	OwnerID string // set by the plugin, shared with the TXT records it serves

	TTL             int64 // TTL of records without a ttl annotation (DefaultTTL)
	PublishInternal bool  // write ClusterIP Services' ClusterIPs to public hosted zones (ExternalDNS --publish-internal-services)

	BatchSize            int                // most changes per ChangeResourceRecordSets call, 1..1000
	RateLimit            float64            // most API requests per second
	Naming               externaldns.Naming // ExternalDNS --txt-prefix, --txt-suffix, --txt-wildcard-replacement
	EvaluateTargetHealth bool               // EvaluateTargetHealth of ALIAS records (ExternalDNS default: true)
	// PreferCNAME writes a CNAME for AWS load balancers too, not an ALIAS
	// (ExternalDNS --aws-prefer-cname); at a zone apex ALIAS stays.
	PreferCNAME bool
	// ClusterRouting, when set, is the routing policy (weighted or
	// multivalue) of the record sets of Services without routing
	// annotations, so that several clusters, each with its own owner id,
	// publish one name side by side: each writes its own record set under
	// its own set identifier (SetIdentifier; empty: OwnerID).
	ClusterRouting *table.Routing

	Profile         string // shared config profile; empty: AWS_PROFILE or default
	CredentialsFile string // shared credentials file; empty: the SDK's default
	AssumeRole      string // role ARN to assume with STS, for a hosted zone in another account
	ExternalID      string // external id for AssumeRole
}

// DefaultConfig returns a Config with every default set and no zones.
func DefaultConfig() Config {
	return Config{
		Policy:               DefaultPolicy,
		Interval:             DefaultInterval,
		Debounce:             DefaultDebounce,
		LeaseNamespace:       kube.PodNamespace(),
		LeaseName:            DefaultLeaseName,
		BatchSize:            DefaultBatchSize,
		RateLimit:            DefaultRateLimit,
		EvaluateTargetHealth: true,
		TTL:                  DefaultTTL,
	}
}

// ParseConfig parses the route53 block of the clusterzone plugin. c must be
// positioned on the "route53" token:
//
//	route53 {
//	    zone ZONE [HOSTED_ZONE_ID|public|private]
//	    region REGION
//	    endpoint URL
//	    policy sync|upsert-only|create-only
//	    dry-run
//	    interval DURATION
//	    debounce DURATION
//	    lease NAMESPACE/NAME
//	    batch-size N
//	    rate-limit N
//	    txt-prefix PREFIX
//	    txt-suffix SUFFIX
//	    txt-wildcard-replacement STRING
//	    evaluate-target-health true|false
//	    prefer-cname
//	    cluster-routing weighted|multivalue [set-identifier ID] [weight N]
//	    ttl SECONDS
//	    publish-internal-services
//	    credentials PROFILE [FILENAME]
//	    assume-role ROLE_ARN [EXTERNAL_ID]
//	}
func ParseConfig(c *caddy.Controller) (Config, error) {
	cfg := DefaultConfig()
	if c.Val() != "route53" {
		return cfg, c.Errf("expected route53, got %q", c.Val())
	}
	if args := c.RemainingArgs(); len(args) > 0 {
		return cfg, c.Errf("route53 takes no arguments, found %v: options go in a { } block", args)
	}
	for c.NextBlock() {
		opt := c.Val()
		args := c.RemainingArgs()
		switch opt {
		case "zone":
			if len(args) < 1 || len(args) > 2 {
				return cfg, c.Errf("zone needs a zone name and optionally a hosted zone id or type: zone ZONE [HOSTED_ZONE_ID|public|private]")
			}
			z, err := parseZone(args)
			if err != nil {
				return cfg, c.Errf("%v", err)
			}
			for _, o := range cfg.Zones {
				if o.Name == z.Name && (o.Type == "" || z.Type == "" || o.Type == z.Type) || o.ID != "" && o.ID == z.ID {
					return cfg, c.Errf("zone %s is given twice (a public and a private hosted zone of one name are given as zone %s public and zone %s private)", z.Name, z.Name, z.Name)
				}
			}
			cfg.Zones = append(cfg.Zones, z)
		case "ttl":
			if len(args) != 1 {
				return cfg, c.ArgErr()
			}
			n, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || n < 1 || n > 2147483647 {
				return cfg, c.Errf("ttl must be a number of seconds from 1 to 2147483647, got %q", args[0])
			}
			cfg.TTL = n
		case "publish-internal-services":
			if len(args) != 0 {
				return cfg, c.ArgErr()
			}
			cfg.PublishInternal = true
		case "region":
			if len(args) != 1 {
				return cfg, c.ArgErr()
			}
			cfg.Region = args[0]
		case "endpoint":
			if len(args) != 1 {
				return cfg, c.ArgErr()
			}
			u, err := url.Parse(args[0])
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return cfg, c.Errf("endpoint %q is not an http(s) URL", args[0])
			}
			cfg.Endpoint = args[0]
		case "policy":
			if len(args) != 1 {
				return cfg, c.ArgErr()
			}
			switch args[0] {
			case PolicySync, PolicyUpsertOnly, PolicyCreateOnly:
				cfg.Policy = args[0]
			default:
				return cfg, c.Errf("policy %q is not one of sync, upsert-only, create-only", args[0])
			}
		case "dry-run":
			if len(args) != 0 {
				return cfg, c.ArgErr()
			}
			cfg.DryRun = true
		case "interval", "debounce":
			if len(args) != 1 {
				return cfg, c.ArgErr()
			}
			d, err := durations.NewDurationFromArg(args[0])
			if err != nil {
				return cfg, c.Errf("%s: %v", opt, err)
			}
			if opt == "interval" {
				if d <= 0 {
					return cfg, c.Errf("interval must be greater than 0, got %s", args[0])
				}
				cfg.Interval = d
			} else {
				if d < 0 {
					return cfg, c.Errf("debounce must not be negative, got %s", args[0])
				}
				cfg.Debounce = d
			}
		case "lease":
			if len(args) != 1 {
				return cfg, c.ArgErr()
			}
			ns, name, err := kube.ParseLeaseName(args[0])
			if err != nil {
				return cfg, c.Errf("lease %v", err)
			}
			cfg.LeaseNamespace, cfg.LeaseName = ns, name
		case "batch-size":
			if len(args) != 1 {
				return cfg, c.ArgErr()
			}
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 1 || n > DefaultBatchSize {
				return cfg, c.Errf("batch-size must be a number from 1 to %d, got %q", DefaultBatchSize, args[0])
			}
			cfg.BatchSize = n
		case "rate-limit":
			if len(args) != 1 {
				return cfg, c.ArgErr()
			}
			r, err := strconv.ParseFloat(args[0], 64)
			if err != nil || r <= 0 || r > 1000 {
				return cfg, c.Errf("rate-limit must be a number of requests per second above 0, got %q", args[0])
			}
			cfg.RateLimit = r
		case "txt-prefix", "txt-suffix", "txt-wildcard-replacement":
			if len(args) != 1 {
				return cfg, c.ArgErr()
			}
			v := strings.ToLower(args[0])
			switch opt {
			case "txt-prefix":
				cfg.Naming.Prefix = v
			case "txt-suffix":
				cfg.Naming.Suffix = v
			default:
				cfg.Naming.WildcardReplacement = v
			}
			if err := cfg.Naming.Validate(); err != nil {
				return cfg, c.Errf("%s: %v", opt, err)
			}
		case "evaluate-target-health":
			if len(args) != 1 {
				return cfg, c.ArgErr()
			}
			b, err := strconv.ParseBool(args[0])
			if err != nil {
				return cfg, c.Errf("evaluate-target-health must be true or false, got %q", args[0])
			}
			cfg.EvaluateTargetHealth = b
		case "prefer-cname":
			if len(args) != 0 {
				return cfg, c.ArgErr()
			}
			cfg.PreferCNAME = true
		case "cluster-routing":
			r, err := parseClusterRouting(args)
			if err != nil {
				return cfg, c.Errf("cluster-routing: %v", err)
			}
			cfg.ClusterRouting = r
		case "credentials":
			if len(args) < 1 || len(args) > 2 {
				return cfg, c.Errf("credentials needs a profile and optionally a file: credentials PROFILE [FILENAME]")
			}
			cfg.Profile = args[0]
			if len(args) == 2 {
				cfg.CredentialsFile = args[1]
			}
		case "assume-role":
			if len(args) < 1 || len(args) > 2 {
				return cfg, c.Errf("assume-role needs a role ARN and optionally an external id: assume-role ROLE_ARN [EXTERNAL_ID]")
			}
			if !strings.HasPrefix(args[0], "arn:") || !strings.Contains(args[0], ":role/") {
				return cfg, c.Errf("assume-role %q is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)", args[0])
			}
			cfg.AssumeRole = args[0]
			if len(args) == 2 {
				cfg.ExternalID = args[1]
			}
		default:
			return cfg, c.Errf("unknown route53 property %q", opt)
		}
	}
	if len(cfg.Zones) == 0 {
		return cfg, c.Errf("route53 needs at least one zone: zone ZONE [HOSTED_ZONE_ID|public|private]")
	}
	return cfg, nil
}

// MaxSetIdentifier is the longest set identifier Route 53 accepts.
const MaxSetIdentifier = 128

// parseClusterRouting reads the arguments of a cluster-routing line:
// weighted|multivalue [set-identifier ID] [weight N]. A weighted record
// set's weight defaults to 1 (Route 53 picks among equal weights evenly).
func parseClusterRouting(args []string) (*table.Routing, error) {
	const usage = "cluster-routing weighted|multivalue [set-identifier ID] [weight N]"
	if len(args) == 0 {
		return nil, fmt.Errorf("needs a policy: %s", usage)
	}
	r := &table.Routing{}
	switch args[0] {
	case table.RoutingWeighted:
		r.Policy, r.Weight = table.RoutingWeighted, 1
	case table.RoutingMultiValue:
		r.Policy = table.RoutingMultiValue
	default:
		return nil, fmt.Errorf("policy %q is neither weighted nor multivalue: %s", args[0], usage)
	}
	rest := args[1:]
	for len(rest) > 0 {
		if len(rest) < 2 {
			return nil, fmt.Errorf("%s needs a value: %s", rest[0], usage)
		}
		key, val := rest[0], rest[1]
		rest = rest[2:]
		switch key {
		case "set-identifier":
			if val == "" || len(val) > MaxSetIdentifier {
				return nil, fmt.Errorf("set-identifier %q must be 1 to %d characters", val, MaxSetIdentifier)
			}
			r.SetIdentifier = val
		case "weight":
			if r.Policy != table.RoutingWeighted {
				return nil, fmt.Errorf("weight is for weighted routing only")
			}
			w, err := strconv.ParseInt(val, 10, 64)
			if err != nil || w < 0 || w > 255 {
				return nil, fmt.Errorf("weight must be a number from 0 to 255, got %q", val)
			}
			r.Weight = w
		default:
			return nil, fmt.Errorf("unknown argument %q: %s", key, usage)
		}
	}
	return r, nil
}

// parseZone reads the arguments of a zone line.
func parseZone(args []string) (Zone, error) {
	z := Zone{Name: strings.ToLower(dns.Fqdn(args[0]))}
	if _, ok := dns.IsDomainName(z.Name); !ok || z.Name == "." {
		return z, fmt.Errorf("zone %q is not a valid domain name", args[0])
	}
	if len(args) == 1 {
		return z, nil
	}
	switch a := strings.ToLower(args[1]); a {
	case ZonePublic, ZonePrivate:
		z.Type = a
	default:
		z.ID = strings.TrimPrefix(args[1], "/hostedzone/")
		if !validZoneID(z.ID) {
			return z, fmt.Errorf("zone %s: %q is neither public, private nor a hosted zone id (like Z0123456789ABCDEFGHIJ)", z.Name, args[1])
		}
	}
	return z, nil
}

// validZoneID reports whether id looks like a Route 53 hosted zone id.
func validZoneID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for _, r := range id {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}

// withDefaults fills the zero values of cfg with the defaults.
func (cfg Config) withDefaults() Config {
	d := DefaultConfig()
	if cfg.Policy == "" {
		cfg.Policy = d.Policy
	}
	if cfg.Interval <= 0 {
		cfg.Interval = d.Interval
	}
	if cfg.Debounce < 0 {
		cfg.Debounce = 0
	}
	if cfg.BatchSize <= 0 || cfg.BatchSize > DefaultBatchSize {
		cfg.BatchSize = d.BatchSize
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = d.RateLimit
	}
	if cfg.LeaseName == "" {
		cfg.LeaseName = d.LeaseName
	}
	if cfg.TTL <= 0 {
		cfg.TTL = d.TTL
	}
	if cfg.LeaseNamespace == "" {
		cfg.LeaseNamespace = d.LeaseNamespace
	}
	return cfg
}
