package translate_test

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/store"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FuzzJoin feeds headless and NodePort Services with fuzzed EndpointSlices
// (address type, addresses, endpoint hostnames, nodes, conditions), Nodes
// (addresses) and node ports through translate.Join and the store into a
// record table. Join must be deterministic and publish only what the table
// can serve: valid names inside the zones, published once each, sorted
// unique valid addresses, at most MaxAddresses of each family; every record
// must pack, and deleting the Service must empty the table.
//
// Endpoints are "ADDR|HOSTNAME|NODE|FLAGS" joined by ";" (FLAGS: r ready,
// s serving, t terminating); nodes are "NAME|INTERNAL,...|EXTERNAL,..."
// joined by ";"; ports are "PROTO:PORT" joined by ",".
func FuzzJoin(f *testing.F) {
	f.Add("db.example.org", true, "IPv4", "10.244.0.1|db-0|n1|rs;10.244.0.2|db-1|n2|", "n1|10.0.0.1|203.0.113.1;n2|10.0.0.2,fd00::2|", "", "", false)
	f.Add("db.example.org,*.db.example.net", true, "IPv6", "fd00::1|Web_0|n1|rs;10.0.0.9||n1|r;|x|n9|r", "n1||", "HostIP", "", true)
	f.Add("np.example.org", false, "IPv4", "10.244.0.1||n1|rst;10.244.0.2||n3|rs", "n1|10.0.0.1|2001:db8::1;n3|10.0.0.3|", "", "tcp:30080,UDP:30053,:1,sctp:70000", true)
	f.Add("np.sub.example.org", false, "FQDN", "db.example.com||n1|r", ";n2", "NodeExternalIP", "tcp:0", false)
	f.Fuzz(func(t *testing.T, hostnames string, headless bool, addrType, endpoints, nodes, endpointsType, ports string, local bool) {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "svc", UID: "uid", Annotations: map[string]string{
				translate.PrefixGA + translate.AnnotationHostname:      hostnames,
				translate.PrefixGA + translate.AnnotationEndpointsType: endpointsType,
			}},
			Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone},
		}
		if !headless {
			svc.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIP: "10.96.0.1", ClusterIPs: []string{"10.96.0.1"}}
			if local {
				svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			}
			for _, p := range splitFuzz(ports) {
				proto, port, _ := strings.Cut(p, ":")
				n, _ := strconv.Atoi(port)
				svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Protocol: corev1.Protocol(strings.ToUpper(proto)), Port: 80, NodePort: int32(n)})
			}
		} else {
			svc.Spec.PublishNotReadyAddresses = local
		}
		es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "svc-x",
			Labels: map[string]string{discoveryv1.LabelServiceName: "svc"}}, AddressType: discoveryv1.AddressType(addrType)}
		for _, e := range strings.Split(endpoints, ";") {
			parts := strings.SplitN(e+"|||", "|", 4)
			ep := discoveryv1.Endpoint{Addresses: splitFuzz(parts[0])}
			if parts[1] != "" {
				ep.Hostname = &parts[1]
			}
			if parts[2] != "" {
				ep.NodeName = &parts[2]
			}
			flags := strings.TrimRight(parts[3], "|")
			r, sv, tm := strings.Contains(flags, "r"), strings.Contains(flags, "s"), strings.Contains(flags, "t")
			ep.Conditions = discoveryv1.EndpointConditions{Ready: &r, Serving: &sv, Terminating: &tm}
			es.Endpoints = append(es.Endpoints, ep)
		}
		var nodeObjs []*corev1.Node
		for _, n := range strings.Split(nodes, ";") {
			parts := strings.SplitN(n+"||", "|", 3)
			node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: parts[0]}}
			for _, a := range splitFuzz(parts[1]) {
				node.Status.Addresses = append(node.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: a})
			}
			for _, a := range splitFuzz(strings.TrimRight(parts[2], "|")) {
				node.Status.Addresses = append(node.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: a})
			}
			nodeObjs = append(nodeObjs, node)
		}

		res := translate.Service(svc, fuzzOpts)
		slice := translate.FromEndpointSlice(es)
		nodeMap := map[string]*translate.Node{}
		for _, n := range nodeObjs {
			tn := translate.FromNode(n)
			nodeMap[tn.Name] = &tn
		}
		eps, problems := translate.Join(res.Backed, []*translate.EndpointSlice{&slice}, nodeMap)
		again, againProblems := translate.Join(res.Backed, []*translate.EndpointSlice{&slice}, nodeMap)
		if !reflect.DeepEqual(eps, again) || !reflect.DeepEqual(problems, againProblems) {
			t.Fatalf("Join not deterministic:\n%+v\n%+v", eps, again)
		}
		joined := res
		joined.Endpoints = append(append([]translate.Endpoint(nil), res.Endpoints...), eps...)
		joined.Problems = append(append([]translate.Problem(nil), res.Problems...), problems...)
		joined.Backed = nil
		checkResult(t, svc, joined)
		for _, ep := range eps {
			v4 := 0
			for _, ip := range ep.External.IPs {
				if ip.Is4() {
					v4++
				}
			}
			if v4 > translate.DefaultMaxAddresses || len(ep.External.IPs)-v4 > translate.DefaultMaxAddresses {
				t.Fatalf("name %s: %d addresses", ep.Name, len(ep.External.IPs))
			}
		}

		tb := table.New(fuzzZones, "fuzz")
		st := store.New(fuzzOpts, tb, nil, nil)
		for _, n := range nodeMap {
			st.UpsertNode(n)
		}
		st.UpsertEndpoints(&slice)
		st.Upsert(&res)
		for _, v := range []table.View{table.External, table.Internal, table.All} {
			for _, z := range fuzzZones {
				for _, e := range tb.Entries(z, v) {
					m := new(dns.Msg)
					m.SetQuestion(e.Set.Name, dns.TypeANY)
					m.Answer = tb.All(e, v)
					if _, err := m.Pack(); err != nil {
						t.Fatalf("records of %s (view %s) do not pack: %v", e.Set.Name, v, err)
					}
				}
			}
		}
		st.Delete("ns/svc")
		if tb.Len() != 0 || tb.OwnerCount() != 0 {
			t.Fatalf("table not empty after delete: %d names, %d owners", tb.Len(), tb.OwnerCount())
		}
	})
}
