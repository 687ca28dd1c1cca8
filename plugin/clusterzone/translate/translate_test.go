package translate

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var opts = Options{
	Prefixes:    []string{PrefixGA, PrefixAlpha},
	Zones:       []string{"example.org.", "example.net."},
	DefaultTTL:  60,
	Controllers: DefaultControllers,
	Allow:       []Allow{{Suffix: "team-a.example.org.", Namespaces: []string{"team-a"}}},
}

func ips(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, x := range s {
		out = append(out, netip.MustParseAddr(x))
	}
	return out
}

// lb is a dual-stack LoadBalancer Service in namespace ns with the given annotations.
func lb(ns string, ann map[string]string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, Annotations: ann, CreationTimestamp: metav1.NewTime(time.Unix(1000, 0))},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeLoadBalancer,
			ClusterIP:  "10.96.0.10",
			ClusterIPs: []string{"10.96.0.10", "fd00:10:96::a"},
		},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{
			{IP: "192.0.2.10"}, {IP: "2001:db8::10"}, {Hostname: "k8s-web.elb.us-east-1.amazonaws.com"},
		}}},
	}
}

const lbKind = table.KindLoadBalancer

func TestService(t *testing.T) {
	ext := Addrs{IPs: ips("192.0.2.10", "2001:db8::10"), Hostnames: []string{"k8s-web.elb.us-east-1.amazonaws.com."}}
	internal := ips("10.96.0.10", "fd00:10:96::a")
	tests := []struct {
		name     string
		svc      *corev1.Service
		want     []Endpoint
		skipped  bool
		problems []string // reasons
	}{
		{
			name: "hostname publishes every ingress address and both ClusterIPs as internal",
			svc:  lb("shop", map[string]string{PrefixAlpha + "hostname": "Web.Example.org"}),
			want: []Endpoint{{Name: "web.example.org.", TTL: 60, Kind: lbKind, External: ext, Internal: internal}},
		},
		{
			name: "GA prefix, comma list with spaces, trailing dot, wildcard",
			svc:  lb("shop", map[string]string{PrefixGA + "hostname": " a.example.org., *.apps.example.net ,"}),
			want: []Endpoint{
				{Name: "a.example.org.", TTL: 60, Kind: lbKind, External: ext, Internal: internal},
				{Name: "*.apps.example.net.", TTL: 60, Kind: lbKind, External: ext, Internal: internal},
			},
		},
		{
			name: "GA prefix wins over alpha when both are set (ExternalDNS v0.22's default)",
			svc:  lb("shop", map[string]string{PrefixAlpha + "hostname": "alpha.example.org", PrefixGA + "hostname": "ga.example.org", PrefixAlpha + "ttl": "30", PrefixGA + "ttl": "90"}),
			want: []Endpoint{{Name: "ga.example.org.", TTL: 90, TTLSet: true, Kind: lbKind, External: ext, Internal: internal}},
		},
		{
			name: "internal-hostname publishes both ClusterIPs in every view",
			svc:  lb("shop", map[string]string{PrefixAlpha + "internal-hostname": "web.internal.example.org"}),
			want: []Endpoint{{Name: "web.internal.example.org.", TTL: 60, External: Addrs{IPs: internal}, Internal: internal}},
		},
		{
			name: "ttl in seconds",
			svc:  lb("shop", map[string]string{PrefixAlpha + "hostname": "web.example.org", PrefixAlpha + "ttl": "300"}),
			want: []Endpoint{{Name: "web.example.org.", TTL: 300, TTLSet: true, Kind: lbKind, External: ext, Internal: internal}},
		},
		{
			name: "ttl as a Go duration",
			svc:  lb("shop", map[string]string{PrefixAlpha + "hostname": "web.example.org", PrefixAlpha + "ttl": "2m"}),
			want: []Endpoint{{Name: "web.example.org.", TTL: 120, TTLSet: true, Kind: lbKind, External: ext, Internal: internal}},
		},
		{
			name:     "bad ttl keeps the name with the default TTL",
			svc:      lb("shop", map[string]string{PrefixAlpha + "hostname": "web.example.org", PrefixAlpha + "ttl": "0"}),
			want:     []Endpoint{{Name: "web.example.org.", TTL: 60, Kind: lbKind, External: ext, Internal: internal}},
			problems: []string{ReasonTTL},
		},
		{
			name:     "ttl that is not a number",
			svc:      lb("shop", map[string]string{PrefixAlpha + "hostname": "web.example.org", PrefixAlpha + "ttl": "soon"}),
			want:     []Endpoint{{Name: "web.example.org.", TTL: 60, Kind: lbKind, External: ext, Internal: internal}},
			problems: []string{ReasonTTL},
		},
		{
			name: "target replaces the discovered addresses",
			svc:  lb("shop", map[string]string{PrefixAlpha + "hostname": "web.example.org", PrefixAlpha + "target": "198.51.100.1, 2001:db8::99, lb.example.com"}),
			want: []Endpoint{{Name: "web.example.org.", TTL: 60, Kind: table.KindTarget, External: Addrs{IPs: ips("198.51.100.1", "2001:db8::99"), Hostnames: []string{"lb.example.com."}}, Internal: internal}},
		},
		{
			name:     "a bad target is dropped, the good ones stay",
			svc:      lb("shop", map[string]string{PrefixAlpha + "hostname": "web.example.org", PrefixAlpha + "target": "198.51.100.1, not_a host!"}),
			want:     []Endpoint{{Name: "web.example.org.", TTL: 60, Kind: table.KindTarget, External: Addrs{IPs: ips("198.51.100.1")}, Internal: internal}},
			problems: []string{ReasonTarget},
		},
		{
			name:     "an invalid hostname is dropped, the valid one stays",
			svc:      lb("shop", map[string]string{PrefixAlpha + "hostname": "bad..example.org, -x.example.org, ok.example.org"}),
			want:     []Endpoint{{Name: "ok.example.org.", TTL: 60, Kind: lbKind, External: ext, Internal: internal}},
			problems: []string{ReasonHostname, ReasonHostname},
		},
		{
			name:     "a label over 63 octets is invalid",
			svc:      lb("shop", map[string]string{PrefixAlpha + "hostname": strings.Repeat("a", 64) + ".example.org"}),
			problems: []string{ReasonHostname},
		},
		{
			name:     "a name outside the zones is dropped",
			svc:      lb("shop", map[string]string{PrefixAlpha + "hostname": "web.example.com, web.example.org"}),
			want:     []Endpoint{{Name: "web.example.org.", TTL: 60, Kind: lbKind, External: ext, Internal: internal}},
			problems: []string{ReasonOutside},
		},
		{
			name:     "a wildcard at the apex is refused",
			svc:      lb("shop", map[string]string{PrefixAlpha + "hostname": "*.example.org"}),
			problems: []string{ReasonOutside},
		},
		{
			name:     "tenancy: another namespace may not take team-a's names",
			svc:      lb("team-b", map[string]string{PrefixAlpha + "hostname": "web.team-a.example.org, web.team-b.example.org"}),
			want:     []Endpoint{{Name: "web.team-b.example.org.", TTL: 60, Kind: lbKind, External: ext, Internal: internal}},
			problems: []string{ReasonNotAllowed},
		},
		{
			name: "tenancy: team-a may",
			svc:  lb("team-a", map[string]string{PrefixAlpha + "hostname": "web.team-a.example.org"}),
			want: []Endpoint{{Name: "web.team-a.example.org.", TTL: 60, Kind: lbKind, External: ext, Internal: internal}},
		},
		{
			name:    "ignore",
			svc:     lb("shop", map[string]string{PrefixAlpha + "hostname": "web.example.org", PrefixAlpha + "ignore": "true"}),
			skipped: true,
		},
		{
			name:    "controller of someone else",
			svc:     lb("shop", map[string]string{PrefixAlpha + "hostname": "web.example.org", PrefixAlpha + "controller": "other"}),
			skipped: true,
		},
		{
			name: "controller dns-controller (ExternalDNS's value) is accepted",
			svc:  lb("shop", map[string]string{PrefixAlpha + "hostname": "web.example.org", PrefixAlpha + "controller": "dns-controller"}),
			want: []Endpoint{{Name: "web.example.org.", TTL: 60, Kind: lbKind, External: ext, Internal: internal}},
		},
		{
			name: "a wildcard load balancer hostname is not an address (found by fuzzing)",
			svc: func() *corev1.Service {
				s := lb("shop", map[string]string{PrefixAlpha + "hostname": "web.example.org"})
				s.Status.LoadBalancer.Ingress[2].Hostname = "*.elb.us-east-1.amazonaws.com"
				return s
			}(),
			want: []Endpoint{{Name: "web.example.org.", TTL: 60, Kind: lbKind, External: Addrs{IPs: ext.IPs}, Internal: internal}},
		},
		{
			name: "no annotation publishes nothing",
			svc:  lb("shop", nil),
		},
		{
			name: "the same name twice is published once",
			svc:  lb("shop", map[string]string{PrefixAlpha + "hostname": "web.example.org,WEB.example.org."}),
			want: []Endpoint{{Name: "web.example.org.", TTL: 60, Kind: lbKind, External: ext, Internal: internal}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Service(tc.svc, opts)
			if r.Key != tc.svc.Namespace+"/web" {
				t.Errorf("key %q", r.Key)
			}
			if (r.Skipped != "") != tc.skipped {
				t.Errorf("skipped = %q, want skipped %v", r.Skipped, tc.skipped)
			}
			if !reflect.DeepEqual(r.Endpoints, tc.want) {
				t.Errorf("endpoints\n got %+v\nwant %+v", r.Endpoints, tc.want)
			}
			var reasons []string
			for _, p := range r.Problems {
				reasons = append(reasons, p.Reason)
				if p.Message == "" {
					t.Errorf("problem %s without a message", p.Reason)
				}
			}
			if !reflect.DeepEqual(reasons, tc.problems) {
				t.Errorf("problems %v, want %v (%+v)", reasons, tc.problems, r.Problems)
			}
		})
	}
}

func TestServiceAddresses(t *testing.T) {
	ann := map[string]string{PrefixAlpha + "hostname": "web.example.org"}
	t.Run("externalIPs replace the load balancer's ingress (as in ExternalDNS)", func(t *testing.T) {
		svc := lb("n", ann)
		svc.Spec.ExternalIPs = []string{"203.0.113.5", "2001:db8::5"}
		r := Service(svc, opts)
		if got := r.Endpoints[0].External; !reflect.DeepEqual(got.IPs, ips("203.0.113.5", "2001:db8::5")) || got.Hostnames != nil {
			t.Errorf("external %+v", got)
		}
	})
	t.Run("a ClusterIP Service publishes its ClusterIPs", func(t *testing.T) {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "n", Annotations: ann},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.1", ClusterIPs: []string{"10.96.0.1", "fd00::1"}}}
		r := Service(svc, opts)
		if got := r.Endpoints[0].External.IPs; !reflect.DeepEqual(got, ips("10.96.0.1", "fd00::1")) {
			t.Errorf("external %v", got)
		}
	})
	t.Run("a pending LoadBalancer has no external address yet", func(t *testing.T) {
		svc := lb("n", ann)
		svc.Status = corev1.ServiceStatus{}
		r := Service(svc, opts)
		if len(r.Endpoints) != 1 || !r.Endpoints[0].External.Empty() || len(r.Endpoints[0].Internal) != 2 {
			t.Errorf("endpoints %+v", r.Endpoints)
		}
	})
	t.Run("the dual-stack AWS annotation is carried", func(t *testing.T) {
		svc := lb("n", map[string]string{PrefixAlpha + "hostname": "web.example.org", AnnotationAWSIPAddressType: "dualstack"})
		if r := Service(svc, opts); !r.Endpoints[0].DualStack {
			t.Error("DualStack not set")
		}
	})
	t.Run("a custom prefix only", func(t *testing.T) {
		o := opts
		o.Prefixes = []string{"dns.example.com/"}
		svc := lb("n", map[string]string{"dns.example.com/hostname": "custom.example.org", PrefixAlpha + "hostname": "web.example.org"})
		r := Service(svc, o)
		if len(r.Endpoints) != 1 || r.Endpoints[0].Name != "custom.example.org." {
			t.Errorf("endpoints %+v", r.Endpoints)
		}
	})
}

func TestParseTTL(t *testing.T) {
	// Durations are truncated to whole seconds, as ExternalDNS does.
	for in, want := range map[string]uint32{"1": 1, "60": 60, "2147483647": 2147483647, "1h": 3600, " 30s ": 30, "20.5s": 20, "1.5s": 1, "1m30.9s": 90} {
		if got, err := ParseTTL(in); err != nil || got != want {
			t.Errorf("ParseTTL(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "-5", "2147483648", "0.5s", "-1s", "abc", "", "20.5"} {
		if _, err := ParseTTL(in); err == nil {
			t.Errorf("ParseTTL(%q) succeeded", in)
		}
	}
}

func TestServiceKinds(t *testing.T) {
	ann := map[string]string{PrefixGA + "hostname": "web.example.org"}
	meta := metav1.ObjectMeta{Name: "web", Namespace: "n", Annotations: ann, UID: "u1"}
	externalName := func(name string, extIPs ...string) *corev1.Service {
		return &corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: name, ExternalIPs: extIPs}}
	}
	cname := opts
	cname.ExternalNameCNAME = true
	tests := []struct {
		name     string
		svc      *corev1.Service
		opts     Options
		want     []Endpoint
		backed   *Backed
		problems []string
	}{
		{
			name: "ExternalName hostname: resolved off the serving path, in every view",
			svc:  externalName("Backend.Example.COM."),
			want: []Endpoint{{Name: "web.example.org.", TTL: 60, Kind: table.KindExternalName, Everywhere: true, External: Addrs{Hostnames: []string{"backend.example.com."}}}},
		},
		{
			name: "ExternalName hostname served as a CNAME (ExternalDNS's shape)",
			svc:  externalName("backend.example.com"),
			opts: cname,
			want: []Endpoint{{Name: "web.example.org.", TTL: 60, Kind: table.KindExternalName, Everywhere: true, Refs: &table.Refs{CNAME: "backend.example.com."}}},
		},
		{
			name: "ExternalName IP: A/AAAA",
			svc:  externalName("2001:db8::7"),
			opts: cname,
			want: []Endpoint{{Name: "web.example.org.", TTL: 60, Kind: table.KindExternalName, Everywhere: true, External: Addrs{IPs: ips("2001:db8::7")}}},
		},
		{
			name: "ExternalName with externalIPs publishes them (as in ExternalDNS)",
			svc:  externalName("backend.example.com", "192.0.2.44"),
			want: []Endpoint{{Name: "web.example.org.", TTL: 60, Kind: table.KindExternalName, Everywhere: true, External: Addrs{IPs: ips("192.0.2.44")}}},
		},
		{
			name:     "ExternalName that is neither a hostname nor an IP",
			svc:      externalName("not a name!"),
			want:     []Endpoint{{Name: "web.example.org.", TTL: 60, Kind: table.KindExternalName, Everywhere: true}},
			problems: []string{ReasonExternalName},
		},
		{
			name: "ClusterIP with externalIPs publishes the external IPs, ClusterIPs stay internal",
			svc: &corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.1",
				ClusterIPs: []string{"10.96.0.1"}, ExternalIPs: []string{"203.0.113.9"}}},
			want: []Endpoint{{Name: "web.example.org.", TTL: 60, Kind: table.KindClusterIP, External: Addrs{IPs: ips("203.0.113.9")}, Internal: ips("10.96.0.1")}},
		},
		{
			name: "headless: names wait for the EndpointSlices",
			svc: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "n", Annotations: map[string]string{
				PrefixGA + "hostname": "db.example.org", PrefixAlpha + "internal-hostname": "db.internal.example.org", PrefixGA + "endpoints-type": "NodeExternalIP"}},
				Spec: corev1.ServiceSpec{ClusterIP: "None", ClusterIPs: []string{"None"}, PublishNotReadyAddresses: true}},
			backed: &Backed{Kind: table.KindHeadless, Names: []string{"db.example.org.", "db.internal.example.org."}, TTL: 60, Service: "db", NodeExternal: true, NotReady: true},
		},
		{
			name: "NodePort: names wait for the nodes, ClusterIPs internal, one SRV port per node port",
			svc: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "np", Namespace: "n", Annotations: map[string]string{
				PrefixGA + "hostname": "np.example.org", PrefixGA + "access": "private"}},
				Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIP: "10.96.0.3", ClusterIPs: []string{"10.96.0.3"},
					ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
					Ports:                 []corev1.ServicePort{{Port: 80, NodePort: 30080}, {Port: 53, Protocol: corev1.ProtocolUDP, NodePort: 30053}, {Port: 9}}}},
			backed: &Backed{Kind: table.KindNodePort, Names: []string{"np.example.org."}, TTL: 60, Service: "np", Access: "private", Local: true,
				Ports: []Port{{"tcp", 30080}, {"udp", 30053}}, Internal: ips("10.96.0.3")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			if o.Zones == nil {
				o = opts
			}
			r := Service(tc.svc, o)
			if !reflect.DeepEqual(r.Endpoints, tc.want) {
				t.Errorf("endpoints\n got %+v\nwant %+v", r.Endpoints, tc.want)
			}
			if !reflect.DeepEqual(r.Backed, tc.backed) {
				t.Errorf("backed\n got %+v\nwant %+v", r.Backed, tc.backed)
			}
			var reasons []string
			for _, p := range r.Problems {
				reasons = append(reasons, p.Reason)
			}
			if !reflect.DeepEqual(reasons, tc.problems) {
				t.Errorf("problems %v, want %v (%+v)", reasons, tc.problems, r.Problems)
			}
		})
	}
}

func TestGatewayHostname(t *testing.T) {
	o := opts
	o.GatewayHostname = true
	svc := lb("n", map[string]string{AnnotationGatewayHostname: "App, api.example.net, full.example.com., bad_name!"})
	r := Service(svc, o)
	var names []string
	for _, ep := range r.Endpoints {
		names = append(names, ep.Name)
	}
	// Relative names under every zone; absolute ones as they are (outside
	// the zones: a problem, as for ExternalDNS's annotation).
	want := []string{"app.example.org.", "app.example.net.", "api.example.net."}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	if len(r.Problems) != 2 || r.Problems[0].Reason != ReasonOutside || r.Problems[1].Reason != ReasonHostname {
		t.Errorf("problems %+v", r.Problems)
	}
	if r := Service(svc, opts); len(r.Endpoints) != 0 {
		t.Errorf("without the option the annotation is read: %+v", r.Endpoints)
	}
}

// TestMirrorFlags checks what the Route 53 mirror needs to know beyond the
// addresses: whether the ttl came from the annotation, and whether a name's
// external addresses are a ClusterIP Service's ClusterIPs.
func TestMirrorFlags(t *testing.T) {
	clusterIP := func(ann map[string]string, extIPs ...string) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "n", Annotations: ann},
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10", "fd00:10:96::a"}, ExternalIPs: extIPs},
		}
	}
	type flags struct {
		ttl             uint32
		ttlSet, cipOnly bool
	}
	for _, tc := range []struct {
		name string
		svc  *corev1.Service
		want map[string]flags
	}{
		{"no ttl annotation: the default, not set", lb("n", map[string]string{PrefixGA + "hostname": "a.example.org"}),
			map[string]flags{"a.example.org.": {60, false, false}}},
		{"ttl annotation: set", lb("n", map[string]string{PrefixGA + "hostname": "a.example.org", PrefixGA + "ttl": "120"}),
			map[string]flags{"a.example.org.": {120, true, false}}},
		{"invalid ttl annotation: the default, not set", lb("n", map[string]string{PrefixGA + "hostname": "a.example.org", PrefixGA + "ttl": "soon"}),
			map[string]flags{"a.example.org.": {60, false, false}}},
		{"hostname on a ClusterIP Service: its ClusterIPs, marked", clusterIP(map[string]string{PrefixGA + "hostname": "a.example.org"}),
			map[string]flags{"a.example.org.": {60, false, true}}},
		{"hostname on a ClusterIP Service with external IPs: not marked", clusterIP(map[string]string{PrefixGA + "hostname": "a.example.org"}, "192.0.2.1"),
			map[string]flags{"a.example.org.": {60, false, false}}},
		{"internal-hostname: published as ExternalDNS does, not marked", clusterIP(map[string]string{PrefixGA + "internal-hostname": "i.example.org", PrefixGA + "hostname": "a.example.org"}),
			map[string]flags{"a.example.org.": {60, false, true}, "i.example.org.": {60, false, false}}},
		{"one name as hostname and internal-hostname: not marked", clusterIP(map[string]string{PrefixGA + "internal-hostname": "a.example.org", PrefixGA + "hostname": "a.example.org"}),
			map[string]flags{"a.example.org.": {60, false, false}}},
	} {
		got := map[string]flags{}
		for _, ep := range Service(tc.svc, opts).Endpoints {
			got[ep.Name] = flags{ep.TTL, ep.TTLSet, ep.ClusterIPOnly}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestInvalidTargets: values shaped like IP addresses that are not are
// invalid targets, reported, not hostnames sent to the resolver; long
// values are cut in the message, with their length.
func TestInvalidTargets(t *testing.T) {
	long := strings.Repeat("a", 60000)
	for _, tc := range []struct {
		target    string
		hostnames []string
		ips       []netip.Addr
		problem   string // "" for none
	}{
		{"999.1.1.1", nil, nil, `target "999.1.1.1" is neither an IP address nor a hostname`},
		{"1.2.3.4.5", nil, nil, `target "1.2.3.4.5" is neither an IP address nor a hostname`},
		{"10.0.0.256", nil, nil, `target "10.0.0.256" is neither`},
		{"192.0.2.1", nil, ips("192.0.2.1"), ""},
		{"lb.example.com", []string{"lb.example.com."}, nil, ""},
		{"1.2.3.example.com", []string{"1.2.3.example.com."}, nil, ""},
		{long + ".example.com", nil, nil, `target "` + strings.Repeat("a", 100) + `"... (60012 characters) is neither`},
	} {
		svc := lb("n", map[string]string{PrefixGA + "hostname": "a.example.org", PrefixGA + "target": tc.target})
		r := Service(svc, opts)
		var got Addrs
		if len(r.Endpoints) > 0 {
			got = r.Endpoints[0].External
		}
		if !reflect.DeepEqual(got.Hostnames, tc.hostnames) || !reflect.DeepEqual(got.IPs, tc.ips) {
			t.Errorf("target %.20q: addresses %+v, want hostnames %v IPs %v", tc.target, got, tc.hostnames, tc.ips)
		}
		var msgs []string
		for _, p := range r.Problems {
			if p.Reason != ReasonTarget {
				t.Errorf("target %.20q: problem reason %s, want %s", tc.target, p.Reason, ReasonTarget)
			}
			msgs = append(msgs, p.Message)
		}
		switch {
		case tc.problem == "" && len(msgs) > 0:
			t.Errorf("target %.20q: problems %v, want none", tc.target, msgs)
		case tc.problem != "" && (len(msgs) != 1 || !strings.HasPrefix(msgs[0], tc.problem)):
			t.Errorf("target %.20q: problems %.300q, want one starting %.300q", tc.target, msgs, tc.problem)
		}
	}
}

// TestMaxAddresses: a Service with more addresses of a family than
// MaxAddresses publishes the lowest ones and is reported.
func TestMaxAddresses(t *testing.T) {
	svc := lb("n", map[string]string{PrefixGA + "hostname": "big.example.org"})
	svc.Status.LoadBalancer.Ingress = nil
	for i := range 10 {
		svc.Status.LoadBalancer.Ingress = append(svc.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: fmt.Sprintf("192.0.2.%d", 10+i)})
	}
	o := opts
	o.MaxAddresses = 3
	r := Service(svc, o)
	if len(r.Endpoints) != 1 || fmt.Sprint(r.Endpoints[0].External.IPs) != "[192.0.2.10 192.0.2.11 192.0.2.12]" {
		t.Fatalf("endpoints %+v", r.Endpoints)
	}
	if len(r.Problems) != 1 || r.Problems[0].Reason != ReasonTooMany || !strings.Contains(r.Problems[0].Message, "10 IPv4 and 0 IPv6 addresses; publishing the lowest 3") {
		t.Errorf("problems %+v", r.Problems)
	}
	if r := Service(svc, opts); len(r.Problems) != 0 || len(r.Endpoints[0].External.IPs) != 10 {
		t.Errorf("under the default limit: %d addresses, problems %+v", len(r.Endpoints[0].External.IPs), r.Problems)
	}
}
