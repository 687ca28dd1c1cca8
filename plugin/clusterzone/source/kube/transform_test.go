package kube

import (
	"reflect"
	"testing"
	"time"

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

func TestTransform(t *testing.T) {
	out, err := Transform(fullService())
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*corev1.Service)
	want := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name:              "web",
			Namespace:         "prod",
			UID:               "1234-5678",
			ResourceVersion:   "42",
			CreationTimestamp: metav1.NewTime(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)),
			Annotations: map[string]string{
				"external-dns.alpha.kubernetes.io/hostname":                    "web.example.org",
				"external-dns.kubernetes.io/ttl":                               "60",
				"service.beta.kubernetes.io/aws-load-balancer-ip-address-type": "dualstack",
			},
		},
		Spec: corev1.ServiceSpec{
			Type:        corev1.ServiceTypeLoadBalancer,
			ClusterIP:   "10.96.0.10",
			ClusterIPs:  []string{"10.96.0.10", "fd00:10:96::a"},
			IPFamilies:  []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
			ExternalIPs: []string{"198.51.100.7"},
		},
		Status: corev1.ServiceStatus{
			LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{
				{IP: "192.0.2.1"},
				{Hostname: "abc.elb.us-east-1.amazonaws.com"},
			}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Transform =\n%+v\nwant\n%+v", got, want)
	}
	if got.ManagedFields != nil || got.Labels != nil || got.Spec.Ports != nil || got.Spec.Selector != nil {
		t.Errorf("fields not stripped: %+v", got)
	}

	// Idempotent.
	again, err := Transform(got)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, want) {
		t.Errorf("Transform is not idempotent:\n%+v", again)
	}
}

func TestTransformAnnotations(t *testing.T) {
	for _, tc := range []struct {
		in, want map[string]string
	}{
		{nil, nil},
		{map[string]string{}, nil},
		{map[string]string{corev1.LastAppliedConfigAnnotation: "{}"}, nil},
		{map[string]string{"custom.example/hostname": "a"}, map[string]string{"custom.example/hostname": "a"}},
	} {
		svc := fullService()
		svc.Annotations = tc.in
		out, err := Transform(svc)
		if err != nil {
			t.Fatal(err)
		}
		if got := out.(*corev1.Service).Annotations; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("annotations %v -> %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestTransformDeletedFinalStateUnknown(t *testing.T) {
	out, err := Transform(cache.DeletedFinalStateUnknown{Key: "prod/web", Obj: fullService()})
	if err != nil {
		t.Fatal(err)
	}
	d, ok := out.(cache.DeletedFinalStateUnknown)
	if !ok {
		t.Fatalf("Transform returned %T, want cache.DeletedFinalStateUnknown", out)
	}
	svc := d.Obj.(*corev1.Service)
	if d.Key != "prod/web" || svc.ManagedFields != nil || svc.Spec.Ports != nil || svc.UID != "1234-5678" {
		t.Errorf("tombstone not slimmed: %+v", d)
	}

	// A tombstone without a Service passes unchanged.
	empty := cache.DeletedFinalStateUnknown{Key: "prod/x"}
	if out, err := Transform(empty); err != nil || out != empty {
		t.Errorf("Transform(%v) = %v, %v", empty, out, err)
	}
}

func TestTransformUnexpected(t *testing.T) {
	if _, err := Transform(&corev1.Pod{}); err == nil {
		t.Error("Transform accepted a Pod")
	}
}
