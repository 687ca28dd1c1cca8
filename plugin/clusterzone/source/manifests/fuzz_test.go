package manifests

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"
)

// FuzzParseManifest feeds manifest file contents (YAML or JSON, multi-document,
// Lists) into Parse, then every Service it returns into translate, as the
// manifest source does. Parse either fails or returns named Services with a
// namespace, the same ones every time.
func FuzzParseManifest(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "examples", "manifests", "services.yaml")); err == nil {
		f.Add(b)
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
		svcs, err := Parse("fuzz.yaml", data)
		again, err2 := Parse("fuzz.yaml", data)
		if (err == nil) != (err2 == nil) || !reflect.DeepEqual(svcs, again) {
			t.Fatalf("not deterministic: %v %v / %v %v", svcs, err, again, err2)
		}
		if err != nil {
			if svcs != nil {
				t.Fatalf("error %v with Services %v", err, svcs)
			}
			return
		}
		for _, svc := range svcs {
			if svc == nil || svc.Name == "" || svc.Namespace == "" {
				t.Fatalf("Service without a name or namespace: %#v", svc)
			}
			translate.Service(svc, opts)
		}
	})
}
