package clusterzone

import (
	"strings"
	"testing"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	"github.com/coredns/caddy"
)

func TestParse(t *testing.T) {
	tests := []struct {
		input string
		check func(t *testing.T, cz *Clusterzone, cfg sharedConfig)
	}{
		{`clusterzone example.org {
			manifests a.yaml dir/
		}`, func(t *testing.T, cz *Clusterzone, cfg sharedConfig) {
			if len(cfg.manifests) != 2 || cfg.useKube {
				t.Errorf("manifests %v useKube %v", cfg.manifests, cfg.useKube)
			}
			if cfg.translate.DefaultTTL != 60 || cfg.ownerID != "default" || len(cfg.translate.Prefixes) != 2 || cz.view != table.External || !cfg.events {
				t.Errorf("defaults: %+v", cfg)
			}
			if cz.Zones[0] != "example.org." || cz.nsFor("example.org.") != "ns1.example.org." {
				t.Errorf("zones %v ns %s", cz.Zones, cz.nsFor("example.org."))
			}
		}},
		{`clusterzone`, func(t *testing.T, cz *Clusterzone, cfg sharedConfig) {
			if !cfg.useKube || cz.Zones[0] != "example.net." {
				t.Errorf("default source is kubernetes from the server block zone: %+v %v", cfg, cz.Zones)
			}
		}},
		{`clusterzone example.org example.com {
			kubeconfig /k/config ctx
			namespaces a b
			labels app=web,tier!=db
			ttl 300
			owner-id cluster-1
			annotation-prefix dns.example.com
			controller mine
			addresses all
			ns ns.example.org 192.0.2.53 2001:db8::53
			resolver 127.0.0.1:5300 ::1
			allow team-a.example.org team-a team-x
			events off
			fallthrough example.com
		}`, func(t *testing.T, cz *Clusterzone, cfg sharedConfig) {
			if cfg.kube.Kubeconfig != "/k/config" || cfg.kube.Context != "ctx" || strings.Join(cfg.kube.Namespaces, ",") != "a,b" || cfg.kube.Labels != "app=web,tier!=db" {
				t.Errorf("kube %+v", cfg.kube)
			}
			if cfg.translate.DefaultTTL != 300 || cfg.ownerID != "cluster-1" || cfg.translate.Prefixes[0] != "dns.example.com/" || cfg.translate.Controllers[0] != "mine" {
				t.Errorf("translate %+v owner %s", cfg.translate, cfg.ownerID)
			}
			if cz.view != table.All || cz.nsFor("example.org.") != "ns.example.org." || len(cz.nsAddrs) != 2 {
				t.Errorf("view %v ns %s %v", cz.view, cz.nsFor("example.org."), cz.nsAddrs)
			}
			if strings.Join(cfg.resolvers, " ") != "127.0.0.1:5300 [::1]:53" {
				t.Errorf("resolvers %v", cfg.resolvers)
			}
			want := translate.Allow{Suffix: "team-a.example.org.", Namespaces: []string{"team-a", "team-x"}}
			if len(cfg.translate.Allow) != 1 || cfg.translate.Allow[0].Suffix != want.Suffix || len(cfg.translate.Allow[0].Namespaces) != 2 {
				t.Errorf("allow %+v", cfg.translate.Allow)
			}
			if cfg.events || !cz.Fall.Through("x.example.com.") || cz.Fall.Through("x.example.org.") {
				t.Errorf("events %v fall %+v", cfg.events, cz.Fall)
			}
		}},
	}
	for i, tc := range tests {
		c := caddy.NewTestController("dns", tc.input)
		c.ServerBlockKeys = []string{"example.net."}
		cz, cfg, err := parse(c)
		if err != nil {
			t.Fatalf("test %d: %v", i, err)
		}
		tc.check(t, cz, cfg)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ input, want string }{
		{"clusterzone {\n bogus\n}", "Testfile:2 - Error during parsing: unknown property 'bogus'"},
		{"clusterzone {\n ttl 0\n}", "Testfile:2 - Error during parsing: ttl must be a whole number in 1..2147483647"},
		{"clusterzone {\n ttl abc\n}", "ttl must be a whole number"},
		{"clusterzone {\n ttl\n}", "Wrong argument count"},
		{"clusterzone {\n manifests\n}", "Wrong argument count"},
		{"clusterzone {\n kubeconfig\n}", "kubeconfig needs PATH [CONTEXT]"},
		{"clusterzone {\n kubeconfig a b c\n}", "kubeconfig needs PATH [CONTEXT]"},
		{"clusterzone {\n namespaces\n}", "Wrong argument count"},
		{"clusterzone {\n labels a in (\n}", "labels:"},
		{"clusterzone {\n owner-id a,b\n}", "owner-id"},
		{"clusterzone {\n owner-id\n}", "Wrong argument count"},
		{"clusterzone {\n annotation-prefix\n}", "Wrong argument count"},
		{"clusterzone {\n controller\n}", "Wrong argument count"},
		{"clusterzone {\n addresses public\n}", "addresses must be external, internal or all"},
		{"clusterzone {\n ns\n}", "Wrong argument count"},
		{"clusterzone {\n ns ns1.example.org not-an-ip\n}", "is not an IP address"},
		{"clusterzone {\n resolver dns.google\n}", "resolver"},
		{"clusterzone {\n resolver 127.0.0.1:99999\n}", "bad port"},
		{"clusterzone {\n allow team-a.example.org\n}", "allow needs SUFFIX NAMESPACE"},
		{"clusterzone {\n events maybe\n}", "events must be on or off"},
		{"clusterzone {\n manifests a.yaml\n kubeconfig /k\n}", "manifests cannot be combined"},
		{"clusterzone example..org", "not a valid domain name"},
		{"clusterzone\nclusterzone", "plugin"},
	}
	for _, tc := range tests {
		c := caddy.NewTestController("dns", tc.input)
		c.ServerBlockKeys = []string{"example.org."}
		_, _, err := parse(c)
		if err == nil {
			t.Errorf("%q: no error", tc.input)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %q, want it to contain %q", tc.input, err, tc.want)
		}
	}
}
