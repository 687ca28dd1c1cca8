package route53

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/externaldns"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"

	"github.com/coredns/caddy"
)

// parse runs ParseConfig on input, positioned on its "route53" token.
func parse(t *testing.T, input string) (Config, error) {
	t.Helper()
	c := caddy.NewTestController("dns", input)
	if !c.Next() {
		t.Fatalf("empty input %q", input)
	}
	return ParseConfig(c)
}

func TestParseConfig(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "dns-system")
	def := DefaultConfig()
	if def.LeaseNamespace != "dns-system" {
		t.Fatalf("default lease namespace %q, want POD_NAMESPACE", def.LeaseNamespace)
	}

	cfg, err := parse(t, `route53 {
		zone example.org Z0123456789ABCDEFGHIJ
		zone Sub.Example.ORG. /hostedzone/Z9999999999
	}`)
	if err != nil {
		t.Fatal(err)
	}
	want := def
	want.Zones = []Zone{{Name: "example.org.", ID: "Z0123456789ABCDEFGHIJ"}, {Name: "sub.example.org.", ID: "Z9999999999"}}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("minimal config:\n got %+v\nwant %+v", cfg, want)
	}
	if cfg.Policy != PolicyUpsertOnly || cfg.Interval != DefaultInterval || cfg.Debounce != DefaultDebounce ||
		cfg.BatchSize != 1000 || cfg.RateLimit != 5 || !cfg.EvaluateTargetHealth || cfg.LeaseName != "clusterzone-route53" || cfg.DryRun ||
		cfg.TTL != 300 || cfg.PublishInternal {
		t.Errorf("defaults: %+v", cfg)
	}

	cfg, err = parse(t, `route53 {
		zone example.org. public
		zone example.org. private
		zone other.example.org
		region eu-west-1
		endpoint http://127.0.0.1:5000
		policy sync
		dry-run
		interval 5m
		debounce 250ms
		lease coredns/cz-mirror
		batch-size 200
		rate-limit 2.5
		txt-prefix %{record_type}.
		txt-wildcard-replacement any
		evaluate-target-health false
		prefer-cname
		cluster-routing weighted set-identifier eu-1 weight 20
		ttl 120
		publish-internal-services
		credentials dns-admin /etc/aws/credentials
		assume-role arn:aws:iam::123456789012:role/dns ext-1
	}`)
	if err != nil {
		t.Fatal(err)
	}
	want = Config{
		Zones:                []Zone{{Name: "example.org.", Type: ZonePublic}, {Name: "example.org.", Type: ZonePrivate}, {Name: "other.example.org."}},
		Region:               "eu-west-1",
		Endpoint:             "http://127.0.0.1:5000",
		Policy:               PolicySync,
		DryRun:               true,
		Interval:             5 * time.Minute,
		Debounce:             250 * time.Millisecond,
		LeaseNamespace:       "coredns",
		LeaseName:            "cz-mirror",
		BatchSize:            200,
		RateLimit:            2.5,
		Naming:               externaldns.Naming{Prefix: "%{record_type}.", WildcardReplacement: "any"},
		TTL:                  120,
		PublishInternal:      true,
		EvaluateTargetHealth: false,
		PreferCNAME:          true,
		ClusterRouting:       &table.Routing{Policy: table.RoutingWeighted, SetIdentifier: "eu-1", Weight: 20},
		Profile:              "dns-admin",
		CredentialsFile:      "/etc/aws/credentials",
		AssumeRole:           "arn:aws:iam::123456789012:role/dns",
		ExternalID:           "ext-1",
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("full config:\n got %+v\nwant %+v", cfg, want)
	}

	for _, in := range []string{"policy upsert-only", "policy create-only", "interval 30", "debounce 0", "txt-suffix -owner", "credentials p", "assume-role arn:aws:iam::1:role/x", "evaluate-target-health true", "cluster-routing multivalue", "cluster-routing weighted weight 0"} {
		if _, err := parse(t, "route53 {\nzone example.org Z1\n"+in+"\n}"); err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
	cfg, _ = parse(t, "route53 {\nzone example.org Z1\ninterval 30\ndebounce 0\n}")
	if cfg.Interval != 30*time.Second || cfg.Debounce != 0 {
		t.Errorf("interval 30, debounce 0 gave %s, %s", cfg.Interval, cfg.Debounce)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct{ input, err string }{
		{"route53", "at least one zone"},
		{"route53 {\n}", "at least one zone"},
		{"route53 example.org {\nzone example.org Z1\n}", "takes no arguments"},
		{"route53 {\nzone\n}", "zone needs"},
		{"route53 {\nzone example.org Z1 Z2\n}", "zone needs"},
		{"route53 {\nzone exa..mple.org Z1\n}", "not a valid domain"},
		{"route53 {\nzone . Z1\n}", "not a valid domain"},
		{"route53 {\nzone example.org Z-1\n}", "neither public, private nor a hosted zone id"},
		{"route53 {\nzone example.org Z1\nzone EXAMPLE.org. Z2\n}", "given twice"},
		{"route53 {\nzone example.org\nzone example.org private\n}", "given twice"},
		{"route53 {\nzone example.org public\nzone example.org public\n}", "given twice"},
		{"route53 {\nzone example.org Z1\nzone sub.example.org Z1\n}", "given twice"},
		{"route53 {\nzone example.org Z1\nttl\n}", "Wrong argument count"},
		{"route53 {\nzone example.org Z1\nttl 0\n}", "ttl must be"},
		{"route53 {\nzone example.org Z1\nttl 1m\n}", "ttl must be"},
		{"route53 {\nzone example.org Z1\npublish-internal-services yes\n}", "Wrong argument count"},
		{"route53 {\nzone example.org Z1\nregion\n}", "Wrong argument count"},
		{"route53 {\nzone example.org Z1\nregion a b\n}", "Wrong argument count"},
		{"route53 {\nzone example.org Z1\nendpoint\n}", "Wrong argument count"},
		{"route53 {\nzone example.org Z1\nendpoint localhost:5000\n}", "not an http(s) URL"},
		{"route53 {\nzone example.org Z1\nendpoint ftp://x\n}", "not an http(s) URL"},
		{"route53 {\nzone example.org Z1\npolicy\n}", "Wrong argument count"},
		{"route53 {\nzone example.org Z1\npolicy delete-all\n}", "not one of sync"},
		{"route53 {\nzone example.org Z1\ndry-run yes\n}", "Wrong argument count"},
		{"route53 {\nzone example.org Z1\ninterval\n}", "Wrong argument count"},
		{"route53 {\nzone example.org Z1\ninterval soon\n}", "interval"},
		{"route53 {\nzone example.org Z1\ninterval 0s\n}", "greater than 0"},
		{"route53 {\nzone example.org Z1\ninterval -1m\n}", "greater than 0"},
		{"route53 {\nzone example.org Z1\ndebounce x\n}", "debounce"},
		{"route53 {\nzone example.org Z1\ndebounce -1s\n}", "must not be negative"},
		{"route53 {\nzone example.org Z1\nlease\n}", "Wrong argument count"},
		{"route53 {\nzone example.org Z1\nlease only-name\n}", "NAMESPACE/NAME"},
		{"route53 {\nzone example.org Z1\nlease ns/\n}", "NAMESPACE/NAME"},
		{"route53 {\nzone example.org Z1\nlease a/b/c\n}", "NAMESPACE/NAME"},
		{"route53 {\nzone example.org Z1\nlease NS/Name\n}", `lease namespace "NS": a lowercase RFC 1123 label`},
		{"route53 {\nzone example.org Z1\nbatch-size\n}", "Wrong argument count"},
		{"route53 {\nzone example.org Z1\nbatch-size 0\n}", "batch-size"},
		{"route53 {\nzone example.org Z1\nbatch-size 1001\n}", "batch-size"},
		{"route53 {\nzone example.org Z1\nbatch-size many\n}", "batch-size"},
		{"route53 {\nzone example.org Z1\nrate-limit\n}", "Wrong argument count"},
		{"route53 {\nzone example.org Z1\nrate-limit 0\n}", "rate-limit"},
		{"route53 {\nzone example.org Z1\nrate-limit fast\n}", "rate-limit"},
		{"route53 {\nzone example.org Z1\ntxt-prefix\n}", "Wrong argument count"},
		{"route53 {\nzone example.org Z1\ntxt-prefix a b\n}", "Wrong argument count"},
		{"route53 {\nzone example.org Z1\ntxt-prefix x-\ntxt-suffix -y\n}", "mutually exclusive"},
		{"route53 {\nzone example.org Z1\ntxt-prefix bad*\n}", "may only hold"},
		{"route53 {\nzone example.org Z1\ntxt-prefix a..b\n}", "empty label"},
		{"route53 {\nzone example.org Z1\ntxt-suffix .x\n}", "must not start with a dot"},
		{"route53 {\nzone example.org Z1\ntxt-wildcard-replacement a.b\n}", "single label"},
		{"route53 {\nzone example.org Z1\ntxt-wildcard-replacement *\n}", "single label"},
		{"route53 {\nzone example.org Z1\nevaluate-target-health\n}", "Wrong argument count"},
		{"route53 {\nzone example.org Z1\nevaluate-target-health maybe\n}", "true or false"},
		{"route53 {\nzone example.org Z1\nprefer-cname yes\n}", "Wrong argument count"},
		{"route53 {\nzone example.org Z1\ncluster-routing\n}", "needs a policy"},
		{"route53 {\nzone example.org Z1\ncluster-routing latency\n}", "neither weighted nor multivalue"},
		{"route53 {\nzone example.org Z1\ncluster-routing weighted weight 256\n}", "0 to 255"},
		{"route53 {\nzone example.org Z1\ncluster-routing multivalue weight 2\n}", "weighted routing only"},
		{"route53 {\nzone example.org Z1\ncluster-routing weighted set-identifier\n}", "needs a value"},
		{"route53 {\nzone example.org Z1\ncluster-routing weighted region eu\n}", "unknown argument"},
		{"route53 {\nzone example.org Z1\ncredentials\n}", "credentials needs"},
		{"route53 {\nzone example.org Z1\ncredentials a b c\n}", "credentials needs"},
		{"route53 {\nzone example.org Z1\nassume-role\n}", "assume-role needs"},
		{"route53 {\nzone example.org Z1\nassume-role dns-role\n}", "not an IAM role ARN"},
		{"route53 {\nzone example.org Z1\nfallthrough\n}", "unknown route53 property"},
	} {
		_, err := parse(t, tc.input)
		if err == nil {
			t.Errorf("%q: no error, want one containing %q", tc.input, tc.err)
			continue
		}
		if !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: error %q, want one containing %q", tc.input, err, tc.err)
		}
	}
}

// TestParseConfigNested parses route53 inside an enclosing plugin block, the
// way the clusterzone parser calls it.
func TestParseConfigNested(t *testing.T) {
	c := caddy.NewTestController("dns", `clusterzone example.org {
		ttl 30
		route53 {
			zone example.org Z1
			policy sync
		}
		fallthrough
	}`)
	c.Next()
	c.RemainingArgs()
	var seen []string
	var cfg Config
	for c.NextBlock() {
		seen = append(seen, c.Val())
		switch c.Val() {
		case "route53":
			var err error
			if cfg, err = ParseConfig(c); err != nil {
				t.Fatal(err)
			}
		default:
			c.RemainingArgs()
		}
	}
	if !reflect.DeepEqual(seen, []string{"ttl", "route53", "fallthrough"}) {
		t.Errorf("outer block saw %v", seen)
	}
	if cfg.Policy != PolicySync || !reflect.DeepEqual(cfg.Zones, []Zone{{Name: "example.org.", ID: "Z1"}}) {
		t.Errorf("nested config %+v", cfg)
	}
}
