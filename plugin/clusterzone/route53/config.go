package route53

import (
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/coredns/caddy"
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
	// DefaultRegion is used when neither the Corefile nor the AWS
	// configuration sets one; Route 53 is a global service and the region
	// only selects the partition.
	DefaultRegion = "us-east-1"

	defaultLeaseNamespace = "kube-system"
	serviceAccountNSFile  = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
)

// Config configures the Route 53 mirror.
type Config struct {
	Zones    map[string]string // zone FQDN (lower-case, trailing dot) -> hosted zone id
	Region   string            // AWS region; empty: from the AWS configuration, else us-east-1
	Endpoint string            // optional endpoint URL override (VPC endpoints, tests against moto)
	Policy   string            // "sync" | "upsert-only" | "create-only"; default upsert-only
	DryRun   bool              // compute and log the plan, change nothing
	Interval time.Duration     // full reconcile period
	Debounce time.Duration     // event-driven sync delay

	LeaseNamespace, LeaseName string // leader-election Lease

	OwnerID string // set by the plugin, shared with the TXT records it serves

	BatchSize            int     // most changes per ChangeResourceRecordSets call, 1..1000
	RateLimit            float64 // most API requests per second
	TXTPrefix            string  // ExternalDNS --txt-prefix
	TXTSuffix            string  // ExternalDNS --txt-suffix
	TXTWildcard          string  // ExternalDNS --txt-wildcard-replacement
	EvaluateTargetHealth bool    // EvaluateTargetHealth of ALIAS records (ExternalDNS default: true)

	Profile         string // shared config profile; empty: AWS_PROFILE or default
	CredentialsFile string // shared credentials file; empty: the SDK's default
	AssumeRole      string // role ARN to assume with STS, for a hosted zone in another account
	ExternalID      string // external id for AssumeRole
}

// DefaultConfig returns a Config with every default set and no zones.
func DefaultConfig() Config {
	return Config{
		Zones:                map[string]string{},
		Policy:               DefaultPolicy,
		Interval:             DefaultInterval,
		Debounce:             DefaultDebounce,
		LeaseNamespace:       podNamespace(),
		LeaseName:            DefaultLeaseName,
		BatchSize:            DefaultBatchSize,
		RateLimit:            DefaultRateLimit,
		EvaluateTargetHealth: true,
	}
}

// podNamespace is the namespace CoreDNS runs in: POD_NAMESPACE, else the
// service account's namespace, else kube-system.
func podNamespace() string {
	if ns := strings.TrimSpace(os.Getenv("POD_NAMESPACE")); ns != "" {
		return ns
	}
	if b, err := os.ReadFile(serviceAccountNSFile); err == nil {
		if ns := strings.TrimSpace(string(b)); ns != "" {
			return ns
		}
	}
	return defaultLeaseNamespace
}

// ParseConfig parses the route53 block of the clusterzone plugin. c must be
// positioned on the "route53" token:
//
//	route53 {
//	    zone ZONE HOSTED_ZONE_ID
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
			if len(args) != 2 {
				return cfg, c.Errf("zone needs a zone name and a hosted zone id: zone ZONE HOSTED_ZONE_ID")
			}
			zone := strings.ToLower(dns.Fqdn(args[0]))
			if _, ok := dns.IsDomainName(zone); !ok || zone == "." {
				return cfg, c.Errf("zone %q is not a valid domain name", args[0])
			}
			id := strings.TrimPrefix(args[1], "/hostedzone/")
			if !validZoneID(id) {
				return cfg, c.Errf("hosted zone id %q is not valid (expected something like Z0123456789ABCDEFGHIJ)", args[1])
			}
			if _, dup := cfg.Zones[zone]; dup {
				return cfg, c.Errf("zone %s is given twice", zone)
			}
			cfg.Zones[zone] = id
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
			d, err := parseDuration(args[0])
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
			ns, name, ok := strings.Cut(args[0], "/")
			if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
				return cfg, c.Errf("lease must be NAMESPACE/NAME, got %q", args[0])
			}
			if _, ok := dns.IsDomainName(name); !ok || strings.ToLower(name) != name || strings.ToLower(ns) != ns {
				return cfg, c.Errf("lease %q is not a valid lower-case NAMESPACE/NAME", args[0])
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
				cfg.TXTPrefix = v
			case "txt-suffix":
				cfg.TXTSuffix = v
			default:
				if strings.ContainsAny(v, ".*") {
					return cfg, c.Errf("txt-wildcard-replacement %q must be a single label without '*'", args[0])
				}
				cfg.TXTWildcard = v
			}
			if cfg.TXTPrefix != "" && cfg.TXTSuffix != "" {
				return cfg, c.Errf("txt-prefix and txt-suffix are mutually exclusive")
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
		return cfg, c.Errf("route53 needs at least one zone: zone ZONE HOSTED_ZONE_ID")
	}
	if err := validAffix(cfg); err != nil {
		return cfg, c.Errf("%v", err)
	}
	return cfg, nil
}

// parseDuration accepts a Go duration or a number of seconds.
func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
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
	if cfg.LeaseNamespace == "" {
		cfg.LeaseNamespace = d.LeaseNamespace
	}
	return cfg
}
