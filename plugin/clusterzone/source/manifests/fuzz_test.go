package manifests

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"
)

// FuzzParseManifest feeds manifest file contents (YAML or JSON, multi-document,
// Lists) into ParseObjects, then every Service, EndpointSlice and Node it
// returns into translate (Service, FromEndpointSlice, FromNode, and Join for
// the Services that take addresses from them), as the manifest source and the
// store do. ParseObjects either fails or returns named objects (namespaced
// ones with a namespace), the same ones every time.
func FuzzParseManifest(f *testing.F) {
	for _, name := range []string{"services.yaml", "workloads.yaml"} {
		if b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "examples", "manifests", name)); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ignored}\n" +
			"---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: b, namespace: x}}\n" +
			"- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n---\n" +
			`{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "d", "namespace": "y"}}` + "\n",
		`{"apiVersion":"v1","kind":"ServiceList","items":[{"kind":"Service","metadata":{"name":"x","annotations":{"external-dns.alpha.kubernetes.io/hostname":"x.example.org"}},"spec":{"type":"LoadBalancer"},"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.1"},{"hostname":"lb.example.com"}]}}},null,7,"s"]}`,
		"kind: Service\nmetadata:\n  name: web\n  creationTimestamp: \"2026-01-01T00:00:00Z\"\n  annotations:\n    external-dns.kubernetes.io/hostname: \"*.apps.example.org\"\n" +
			"    external-dns.kubernetes.io/ttl: 5m\nspec:\n  clusterIPs: [10.96.0.1, \"fd00::1\"]\n  externalIPs: [198.51.100.7]\n",
		"kind: Service\nmetadata: {name: a, unknownField: 1}\n",
		"kind: Service\nmetadata: {namespace: x}\n",
		"kind: Service\nmetadata: {name: a, creationTimestamp: yesterday}\n",
		"kind: List\nitems: {}\n",
		"kind: List\nitems: [[1]]\n",
		"---\n---\n\n---\n",
		"kind: [Service]\n",
		"\tkind: Service\n",
		"kind: Service\nmetadata: &a {name: a}\nspec: *a\n",
		"kind: Service\nmetadata:\n  name: a\n  annotations: {a: 1, b: true, c: null}\n",
		"",
		"{",
		"kind: EndpointSlice\nmetadata: {name: s, labels: {kubernetes.io/service-name: db}}\naddressType: IPv4\n" +
			"endpoints: [{addresses: [10.0.0.1, x], hostname: db-0, nodeName: n1, conditions: {ready: false, terminating: true}}, {addresses: []}]\n" +
			"---\nkind: Node\nmetadata: {name: n1, namespace: ignored}\nstatus: {addresses: [{type: ExternalIP, address: \"fe80::1%eth0\"}, {type: InternalIP, address: 10.0.0.1}]}\n" +
			"---\nkind: Service\nmetadata: {name: db, annotations: {external-dns.kubernetes.io/hostname: db.example.org}}\nspec: {clusterIP: None}\n",
		"kind: EndpointSlice\nmetadata: {}\n",
		"kind: Node\nmetadata: {name: n}\nstatus: {addresses: 7}\n",
	} {
		f.Add([]byte(s))
	}
	opts := translate.Options{
		Prefixes:    []string{translate.PrefixAlpha, translate.PrefixGA},
		Zones:       []string{"example.org."},
		DefaultTTL:  60,
		Controllers: translate.DefaultControllers,
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := ParseObjects("fuzz.yaml", data)
		again, err2 := ParseObjects("fuzz.yaml", data)
		if (err == nil) != (err2 == nil) || !reflect.DeepEqual(objs, again) {
			t.Fatalf("not deterministic: %v %v / %v %v", objs, err, again, err2)
		}
		if err != nil {
			if !reflect.DeepEqual(objs, Objects{}) {
				t.Fatalf("error %v with objects %v", err, objs)
			}
			return
		}
		var slices []*translate.EndpointSlice
		for _, es := range objs.EndpointSlices {
			if es == nil || es.Name == "" || es.Namespace == "" {
				t.Fatalf("EndpointSlice without a name or namespace: %#v", es)
			}
			ts := translate.FromEndpointSlice(es)
			slices = append(slices, &ts)
		}
		nodes := map[string]*translate.Node{}
		for _, n := range objs.Nodes {
			if n == nil || n.Name == "" {
				t.Fatalf("Node without a name: %#v", n)
			}
			tn := translate.FromNode(n)
			nodes[tn.Name] = &tn
		}
		for _, svc := range objs.Services {
			if svc == nil || svc.Name == "" || svc.Namespace == "" {
				t.Fatalf("Service without a name or namespace: %#v", svc)
			}
			res := translate.Service(svc, opts)
			translate.Join(res.Backed, slices, nodes)
		}
	})
}
