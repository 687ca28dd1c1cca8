package translate_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/store"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

var fuzzZones = []string{"example.net.", "example.org.", "sub.example.org."}

var fuzzOpts = translate.Options{
	Prefixes:    []string{translate.PrefixAlpha, translate.PrefixGA},
	Zones:       fuzzZones,
	DefaultTTL:  60,
	Controllers: translate.DefaultControllers,
	Allow:       []translate.Allow{{Suffix: "team-a.example.org.", Namespaces: []string{"team-a"}}},
}

// splitFuzz splits a fuzzed comma list (empty: none).
func splitFuzz(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// FuzzTranslateService feeds Services built from fuzzed annotations
// (hostname, internal-hostname, ttl, target, controller, ignore, under either
// prefix), type, ClusterIPs, load-balancer ingress and external IPs into
// translate.Service, then through the store into a record table. translate
// must be deterministic and only publish what the table can serve: lower-case
// fully qualified names inside the zones that fit in a DNS message, TTLs in
// 1..2147483647, unmapped IPs without zones, valid target hostnames; every
// published name must then be found in the table with records that pack, and
// deleting the Service must empty the table.
func FuzzTranslateService(f *testing.F) {
	type seed struct {
		ns, name, typ, hostname, internal, ttl, target, controller, ignore string
		clusterIPs, ingressIPs, ingressHosts, externalIPs, ipType          string
		ga                                                                 bool
	}
	for _, s := range []seed{
		{ns: "shop", name: "web", typ: "LoadBalancer", hostname: "Web.Example.org", clusterIPs: "10.96.0.10,fd00:10:96::a",
			ingressIPs: "192.0.2.10,2001:db8::10", ingressHosts: "k8s-web.elb.us-east-1.amazonaws.com", ipType: "dualstack"},
		{ns: "shop", name: "web", typ: "LoadBalancer", hostname: " a.example.org., *.apps.example.net ,", ga: true, ingressIPs: "192.0.2.10"},
		{ns: "shop", name: "web", typ: "ClusterIP", internal: "web.internal.example.org", hostname: "web.example.org,web.example.org", clusterIPs: "10.96.0.10"},
		{ns: "shop", name: "web", typ: "LoadBalancer", hostname: "web.example.org", ttl: "5m", target: "192.0.2.1, 2001:db8::1, lb.example.com, ::ffff:192.0.2.2"},
		{ns: "shop", name: "web", typ: "NodePort", hostname: "web.example.org", ttl: "1.5s", target: "fe80::1%eth0, *.x.example.com, -bad-"},
		{ns: "shop", name: "web", hostname: "web.example.org", ttl: "0", controller: "dns-controller", externalIPs: "198.51.100.1,not-an-ip"},
		{ns: "shop", name: "web", hostname: "web.example.org", ttl: "2147483648", controller: "someone-else"},
		{ns: "shop", name: "web", hostname: "web.example.org", ignore: "TRUE"},
		{ns: "team-b", name: "api", typ: "LoadBalancer", hostname: "api.team-a.example.org, api.example.com, *.example.org, example.org, x..example.org", ingressIPs: "192.0.2.5"},
		{ns: "team-a", name: "api", typ: "LoadBalancer", hostname: "*.team-a.example.org, _srv._tcp.sub.example.org", ingressHosts: "*.elb.example.com,Upper.Example.COM."},
		{ns: "default", name: "long", typ: "ExternalName", hostname: strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 50) + ".example.org"},
		{ns: "default", name: "v6", typ: "LoadBalancer", hostname: "v6.example.org", clusterIPs: "fd00::1", ingressIPs: "2001:db8::20,2001:db8::20", ipType: "ipv4"},
		{ns: "default", name: "headless", typ: "ClusterIP", hostname: "h.example.org", clusterIPs: "None"},
	} {
		f.Add(s.ns, s.name, s.typ, s.hostname, s.internal, s.ttl, s.target, s.controller, s.ignore,
			s.clusterIPs, s.ingressIPs, s.ingressHosts, s.externalIPs, s.ipType, s.ga)
	}
	created := metav1.NewTime(time.Unix(1700000000, 0))
	f.Fuzz(func(t *testing.T, ns, name, typ, hostname, internal, ttl, target, controller, ignore,
		clusterIPs, ingressIPs, ingressHosts, externalIPs, ipType string, ga bool) {
		// The API server only admits DNS-label namespaces and names (at most
		// 63 octets each); other values would only exercise the ownership
		// TXT record's length, which depends on them.
		if len(validation.IsDNS1123Label(ns)) > 0 {
			ns = "default"
		}
		if len(validation.IsDNS1035Label(name)) > 0 {
			name = "web"
		}
		prefix := translate.PrefixAlpha
		if ga {
			prefix = translate.PrefixGA
		}
		ann := map[string]string{}
		for k, v := range map[string]string{
			translate.AnnotationHostname: hostname, translate.AnnotationInternalHostname: internal,
			translate.AnnotationTTL: ttl, translate.AnnotationTarget: target,
			translate.AnnotationController: controller, translate.AnnotationIgnore: ignore,
		} {
			if v != "" {
				ann[prefix+k] = v
			}
		}
		if ipType != "" {
			ann[translate.AnnotationAWSIPAddressType] = ipType
		}
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: "uid", Annotations: ann, CreationTimestamp: created},
			Spec: corev1.ServiceSpec{
				Type:        corev1.ServiceType(typ),
				ClusterIPs:  splitFuzz(clusterIPs),
				ExternalIPs: splitFuzz(externalIPs),
			},
		}
		if len(svc.Spec.ClusterIPs) > 0 {
			svc.Spec.ClusterIP = svc.Spec.ClusterIPs[0]
		}
		for _, ip := range splitFuzz(ingressIPs) {
			svc.Status.LoadBalancer.Ingress = append(svc.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
		}
		for _, h := range splitFuzz(ingressHosts) {
			svc.Status.LoadBalancer.Ingress = append(svc.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{Hostname: h})
		}

		res := translate.Service(svc, fuzzOpts)
		if again := translate.Service(svc, fuzzOpts); !reflect.DeepEqual(res, again) || !res.Equal(&again) {
			t.Fatalf("not deterministic:\n%+v\n%+v", res, again)
		}
		checkResult(t, svc, res)

		tb := table.New(fuzzZones, "fuzz")
		st := store.New(fuzzOpts, tb, nil, nil)
		st.Upsert(&res)
		published := 0
		for _, ep := range res.Endpoints {
			// Without a resolver only IPs are addresses; a name without
			// any publishes nothing in any view (ExternalDNS publishes
			// nothing for it either).
			if len(ep.External.IPs) == 0 && len(ep.Internal) == 0 {
				continue
			}
			published++
			zone := zoneOf(ep.Name)
			a := tb.Lookup(zone, ep.Name, table.All)
			if !a.Exists || a.Entry == nil || a.Wildcard {
				t.Fatalf("published name %s not in the table: %+v", ep.Name, a)
			}
			if ext := tb.Lookup(zone, ep.Name, table.External); (ext.Entry != nil && !ext.Wildcard) != (len(ep.External.IPs) > 0) {
				t.Fatalf("name %s with external addresses %v: external view %+v", ep.Name, ep.External.IPs, ext)
			}
			for _, v := range []table.View{table.External, table.Internal, table.All} {
				m := new(dns.Msg)
				m.SetQuestion(ep.Name, dns.TypeANY)
				m.Answer = tb.All(a.Entry, v)
				if _, err := m.Pack(); err != nil {
					t.Fatalf("records of %s (view %s) do not pack: %v\n%v", ep.Name, v, err, m.Answer)
				}
			}
		}
		if got, want := tb.Len(), published; got != want {
			t.Fatalf("table holds %d names, translate published %d", got, want)
		}
		st.Delete(ns + "/" + name)
		if tb.Len() != 0 || tb.OwnerCount() != 0 {
			t.Fatalf("table not empty after delete: %d names, %d owners", tb.Len(), tb.OwnerCount())
		}
		for _, ep := range res.Endpoints {
			if zoneOf(ep.Name) == ep.Name {
				continue // a zone apex always exists
			}
			if a := tb.Lookup(zoneOf(ep.Name), ep.Name, table.External); a.Exists {
				t.Fatalf("%s still exists after delete: %+v", ep.Name, a)
			}
		}
	})
}

// zoneOf returns the longest fuzz zone holding name.
func zoneOf(name string) string {
	best := ""
	for _, z := range fuzzZones {
		if len(z) > len(best) && dns.IsSubDomain(z, name) {
			best = z
		}
	}
	return best
}

var reasons = map[string]bool{
	translate.ReasonHostname: true, translate.ReasonOutside: true, translate.ReasonTTL: true,
	translate.ReasonTarget: true, translate.ReasonNotAllowed: true, translate.ReasonEndpoint: true,
	translate.ReasonNode: true, translate.ReasonTooMany: true, translate.ReasonExternalName: true,
}

func checkResult(t *testing.T, svc *corev1.Service, res translate.Result) {
	t.Helper()
	if res.Key != svc.Namespace+"/"+svc.Name {
		t.Fatalf("key %q", res.Key)
	}
	if res.Skipped != "" && (len(res.Endpoints) > 0 || len(res.Problems) > 0) {
		t.Fatalf("skipped (%s) but publishes %+v, problems %+v", res.Skipped, res.Endpoints, res.Problems)
	}
	for _, p := range res.Problems {
		if !reasons[p.Reason] || p.Message == "" {
			t.Fatalf("problem %+v", p)
		}
	}
	seen := map[string]bool{}
	for _, ep := range res.Endpoints {
		if seen[ep.Name] {
			t.Fatalf("name %s published twice", ep.Name)
		}
		seen[ep.Name] = true
		checkName(t, ep.Name, true)
		if zoneOf(ep.Name) == "" {
			t.Fatalf("name %s outside the zones", ep.Name)
		}
		for _, z := range fuzzZones {
			if ep.Name == "*."+z {
				t.Fatalf("wildcard %s at a zone apex", ep.Name)
			}
		}
		if ep.TTL < 1 || ep.TTL > 2147483647 {
			t.Fatalf("name %s: ttl %d", ep.Name, ep.TTL)
		}
		for _, addrs := range []translate.Addrs{ep.External, {IPs: ep.Internal}} {
			for i, ip := range addrs.IPs {
				if !ip.IsValid() || ip.Zone() != "" || ip.Is4In6() {
					t.Fatalf("name %s: address %v", ep.Name, ip)
				}
				if i > 0 && !addrs.IPs[i-1].Less(ip) {
					t.Fatalf("name %s: addresses not sorted and unique: %v", ep.Name, addrs.IPs)
				}
			}
			for _, h := range addrs.Hostnames {
				// Neither a target nor a load balancer's ingress hostname
				// is a wildcard: each is resolved (and ALIASed) as it is.
				checkName(t, h, false)
			}
		}
	}
}

// checkName fails unless name is a lower-case FQDN that fits in a DNS message
// (a leading "*" label only when wildcard).
func checkName(t *testing.T, name string, wildcard bool) {
	t.Helper()
	if name != strings.ToLower(name) || !dns.IsFqdn(name) {
		t.Fatalf("name %q is not a lower-case FQDN", name)
	}
	if _, ok := dns.IsDomainName(name); !ok {
		t.Fatalf("name %q is not a domain name", name)
	}
	if strings.Contains(name, `\`) || strings.Contains(strings.TrimPrefix(name, "*."), "*") || (!wildcard && strings.HasPrefix(name, "*")) {
		t.Fatalf("name %q has escapes or a misplaced wildcard", name)
	}
	buf := make([]byte, 512)
	if _, err := dns.PackDomainName(name, buf, 0, nil, false); err != nil {
		t.Fatalf("name %q does not pack: %v", name, err)
	}
}
