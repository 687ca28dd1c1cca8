package kube

import (
	"fmt"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

func fullService() *corev1.Service {
	ipMode := corev1.LoadBalancerIPModeVIP
	return &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{
			Name:              "web",
			Namespace:         "prod",
			UID:               "1234-5678",
			ResourceVersion:   "42",
			Generation:        3,
			CreationTimestamp: metav1.NewTime(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)),
			Labels:            map[string]string{"app": "web"},
			Annotations: map[string]string{
				"external-dns.alpha.kubernetes.io/hostname":                    "web.example.org",
				"external-dns.kubernetes.io/ttl":                               "60",
				"service.beta.kubernetes.io/aws-load-balancer-ip-address-type": "dualstack",
				corev1.LastAppliedConfigAnnotation:                             `{"a very":"long manifest"}`,
			},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}},
			Finalizers:    []string{"service.kubernetes.io/load-balancer-cleanup"},
		},
		Spec: corev1.ServiceSpec{
			Type:        corev1.ServiceTypeLoadBalancer,
			ClusterIP:   "10.96.0.10",
			ClusterIPs:  []string{"10.96.0.10", "fd00:10:96::a"},
			IPFamilies:  []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
			ExternalIPs: []string{"198.51.100.7"},
			Ports:       []corev1.ServicePort{{Name: "http", Port: 80, NodePort: 30080}},
			Selector:    map[string]string{"app": "web"},
		},
		Status: corev1.ServiceStatus{
			LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{
				{IP: "192.0.2.1", IPMode: &ipMode, Ports: []corev1.PortStatus{{Port: 80}}},
				{Hostname: "abc.elb.us-east-1.amazonaws.com"},
			}},
			Conditions: []metav1.Condition{{Type: "Ready"}},
		},
	}
}

func TestTransformer(t *testing.T) {
	transform := Transformer(testOpts)
	out, err := transform(fullService())
	if err != nil {
		t.Fatal(err)
	}
	got, ok := out.(*Translated)
	if !ok {
		t.Fatalf("transform returned %T, want *Translated", out)
	}
	want := translate.Service(fullService(), testOpts)
	if !got.Result().Equal(&want) || got.UID != "1234-5678" || len(got.Endpoints) != 1 {
		t.Errorf("transform =\n%+v\nwant the translation\n%+v", got, want)
	}
	ep := got.Endpoints[0]
	if ep.Name != "web.example.org." || ep.TTL != 60 || !ep.DualStack ||
		// spec.externalIPs replace the ingress, as in ExternalDNS.
		fmt.Sprint(ep.External.IPs) != "[198.51.100.7]" || len(ep.External.Hostnames) != 0 ||
		fmt.Sprint(ep.Internal) != "[10.96.0.10 fd00:10:96::a]" {
		t.Errorf("endpoint %+v", ep)
	}

	// What client-go's cache keys it by.
	if key, err := cache.MetaNamespaceKeyFunc(got); err != nil || key != "prod/web" {
		t.Errorf("cache key %q, %v; want prod/web", key, err)
	}

	// Idempotent.
	again, err := transform(got)
	if err != nil || again != out {
		t.Errorf("transform of a *Translated = %v, %v; want it unchanged", again, err)
	}
}

func TestTransformerDeletedFinalStateUnknown(t *testing.T) {
	transform := Transformer(testOpts)
	out, err := transform(cache.DeletedFinalStateUnknown{Key: "prod/web", Obj: fullService()})
	if err != nil {
		t.Fatal(err)
	}
	d, ok := out.(cache.DeletedFinalStateUnknown)
	if !ok {
		t.Fatalf("transform returned %T, want cache.DeletedFinalStateUnknown", out)
	}
	if tr, ok := d.Obj.(*Translated); d.Key != "prod/web" || !ok || tr.Key != "prod/web" {
		t.Errorf("tombstone not translated: %+v", d)
	}
	// Again (idempotent), and a tombstone without an object passes unchanged.
	if again, err := transform(d); err != nil || again.(cache.DeletedFinalStateUnknown).Obj != d.Obj {
		t.Errorf("transform of a translated tombstone = %+v, %v", again, err)
	}
	empty := cache.DeletedFinalStateUnknown{Key: "prod/x"}
	if out, err := transform(empty); err != nil || out != empty {
		t.Errorf("transform(%v) = %v, %v", empty, out, err)
	}
}

func TestTransformerUnexpected(t *testing.T) {
	if _, err := Transformer(testOpts)(&corev1.Pod{}); err == nil {
		t.Error("transform accepted a Pod")
	}
	if _, err := Transformer(testOpts)(cache.DeletedFinalStateUnknown{Key: "a/b", Obj: &corev1.Pod{}}); err == nil {
		t.Error("transform accepted a Pod in a tombstone")
	}
}
