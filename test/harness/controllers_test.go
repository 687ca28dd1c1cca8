package harness

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// endpointsByAddress indexes the endpoints of the slices of one address type
// by address.
func endpointsByAddress(slices []discoveryv1.EndpointSlice, typ discoveryv1.AddressType) map[string]discoveryv1.Endpoint {
	out := map[string]discoveryv1.Endpoint{}
	for _, s := range slices {
		if s.AddressType != typ {
			continue
		}
		for _, e := range s.Endpoints {
			for _, a := range e.Addresses {
				out[a] = e
			}
		}
	}
	return out
}

// TestControllerManagerEndpointSlices runs the real EndpointSlice controller
// over Pods and Nodes written by the harness: dual-stack headless slices with
// hostnames and node names, readiness changes, deletion, and a NodePort
// Service with externalTrafficPolicy Local.
func TestControllerManagerEndpointSlices(t *testing.T) {
	start := time.Now()
	c := StartCluster(t)
	t.Logf("cluster up after %v", time.Since(start))
	kcmStart := time.Now()
	c.StartControllerManager(t)
	t.Logf("kube-controller-manager ready after %v", time.Since(kcmStart))

	ctx := context.Background()
	nodes := []string{"node-a", "node-b"}
	for i, n := range nodes {
		c.CreateNode(t, n,
			corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("192.0.2.%d", i+1)},
			corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("2001:db8::%d", i+1)},
			corev1.NodeAddress{Type: corev1.NodeHostName, Address: n},
		)
	}
	ns := c.CreateNamespace(t, "kcm")
	const svcName = "web"
	selector := map[string]string{"app": "web"}
	_, err := c.Admin.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: svcName},
		Spec: corev1.ServiceSpec{
			ClusterIP:      corev1.ClusterIPNone,
			IPFamilyPolicy: ptr.To(corev1.IPFamilyPolicyRequireDualStack),
			IPFamilies:     []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
			Selector:       selector,
			Ports:          []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(80)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating headless service: %v", err)
	}

	type podAddrs struct{ name, v4, v6, node string }
	var pods []podAddrs
	podsStart := time.Now()
	for i := 0; i < 3; i++ {
		p := podAddrs{
			name: fmt.Sprintf("web-%d", i),
			v4:   fmt.Sprintf("10.244.%d.%d", i%2, 10+i),
			v6:   fmt.Sprintf("fd00:10:244::%x", 10+i),
			node: nodes[i%2],
		}
		pods = append(pods, p)
		c.CreatePod(t, ns, PodSpec{
			Name:      p.name,
			Labels:    selector,
			NodeName:  p.node,
			Hostname:  p.name,
			Subdomain: svcName,
			IPs:       []string{p.v4, p.v6},
			Ready:     true,
			HostIP:    fmt.Sprintf("192.0.2.%d", i%2+1),
		})
	}
	t.Logf("3 pods created in %v", time.Since(podsStart))

	// checkAll reports whether both families hold exactly the pods in want,
	// with the expected conditions, hostname and node.
	checkAll := func(slices []discoveryv1.EndpointSlice, want map[string]bool) bool {
		for _, fam := range []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6} {
			eps := endpointsByAddress(slices, fam)
			if len(eps) != len(want) {
				return false
			}
			for _, p := range pods {
				ready, ok := want[p.name]
				if !ok {
					continue
				}
				addr := p.v4
				if fam == discoveryv1.AddressTypeIPv6 {
					addr = p.v6
				}
				e, ok := eps[addr]
				if !ok || e.Conditions.Ready == nil || *e.Conditions.Ready != ready {
					return false
				}
				if e.Hostname == nil || *e.Hostname != p.name || e.NodeName == nil || *e.NodeName != p.node {
					return false
				}
				if e.TargetRef == nil || e.TargetRef.Kind != "Pod" || e.TargetRef.Name != p.name {
					return false
				}
			}
		}
		return true
	}

	waitStart := time.Now()
	c.WaitEndpointSlices(t, ns, svcName, func(s []discoveryv1.EndpointSlice) bool {
		return checkAll(s, map[string]bool{"web-0": true, "web-1": true, "web-2": true})
	}, 30*time.Second)
	t.Logf("dual-stack slices complete %v after the last pod", time.Since(waitStart))
	slices := c.EndpointSlices(t, ns, svcName)
	t.Logf("slices:\n%s", FormatEndpointSlices(slices))
	families := map[discoveryv1.AddressType]int{}
	for _, s := range slices {
		families[s.AddressType]++
		if s.Labels[discoveryv1.LabelManagedBy] != "endpointslice-controller.k8s.io" {
			t.Errorf("slice %s managed-by = %q", s.Name, s.Labels[discoveryv1.LabelManagedBy])
		}
		for _, e := range s.Endpoints {
			if e.Conditions.Serving == nil || !*e.Conditions.Serving || e.Conditions.Terminating == nil || *e.Conditions.Terminating {
				t.Errorf("slice %s endpoint %v: serving=%s terminating=%s, want true/false", s.Name, e.Addresses,
					derefBool(e.Conditions.Serving), derefBool(e.Conditions.Terminating))
			}
		}
	}
	if families[discoveryv1.AddressTypeIPv4] != 1 || families[discoveryv1.AddressTypeIPv6] != 1 {
		t.Errorf("slices per family = %v, want one IPv4 and one IPv6", families)
	}

	// Not ready: ready=false (and serving=false) in both families.
	step := time.Now()
	c.SetPodReady(t, ns, "web-1", false)
	c.WaitEndpointSlices(t, ns, svcName, func(s []discoveryv1.EndpointSlice) bool {
		return checkAll(s, map[string]bool{"web-0": true, "web-1": false, "web-2": true})
	}, 30*time.Second)
	t.Logf("not-ready seen after %v", time.Since(step))
	for _, fam := range []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6} {
		addr := pods[1].v4
		if fam == discoveryv1.AddressTypeIPv6 {
			addr = pods[1].v6
		}
		e := endpointsByAddress(c.EndpointSlices(t, ns, svcName), fam)[addr]
		if e.Conditions.Serving == nil || *e.Conditions.Serving {
			t.Errorf("%s endpoint %s of a not-ready pod: serving=%s, want false", fam, addr, derefBool(e.Conditions.Serving))
		}
	}

	// Deleted: it leaves both families.
	step = time.Now()
	c.DeletePod(t, ns, "web-2")
	c.WaitEndpointSlices(t, ns, svcName, func(s []discoveryv1.EndpointSlice) bool {
		return checkAll(s, map[string]bool{"web-0": true, "web-1": false})
	}, 30*time.Second)
	t.Logf("deletion seen after %v", time.Since(step))

	// A NodePort Service with externalTrafficPolicy Local over the same pods.
	_, err = c.Admin.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web-nodeport"},
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeNodePort,
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
			Selector:              selector,
			Ports:                 []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(80)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating NodePort service: %v", err)
	}
	c.WaitEndpointSlices(t, ns, "web-nodeport", func(s []discoveryv1.EndpointSlice) bool {
		eps := endpointsByAddress(s, discoveryv1.AddressTypeIPv4)
		// No hostname: the pods' subdomain names the other Service.
		return len(eps) == 2 && eps[pods[0].v4].NodeName != nil && eps[pods[0].v4].Hostname == nil &&
			eps[pods[1].v4].Conditions.Ready != nil && !*eps[pods[1].v4].Conditions.Ready
	}, 30*time.Second)
	t.Logf("nodeport slices:\n%s", FormatEndpointSlices(c.EndpointSlices(t, ns, "web-nodeport")))

	if log := tailFile(c.ControllerManagerLog, 2000); strings.Contains(log, "Node not found") {
		t.Errorf("controller skipped pods for missing nodes:\n%s", log)
	}
	t.Logf("total %v", time.Since(start))
}

// TestControllerBinariesMissingFail checks that the new launchers fail with
// the build hint when their binaries are missing.
func TestControllerBinariesMissingFail(t *testing.T) {
	t.Setenv("CLUSTERZONE_CACHE", t.TempDir())
	for name, fn := range map[string]func(testing.TB){
		"kube-controller-manager": func(tb testing.TB) { (&Cluster{}).StartControllerManager(tb) },
		"external-dns":            func(tb testing.TB) { StartExternalDNS(tb, "--kubeconfig=x") },
	} {
		msg := runFatal(t, fn)
		if !strings.Contains(msg, name) || !strings.Contains(msg, "make test-bins") || !strings.Contains(msg, "hack/testbins.sh") {
			t.Errorf("%s missing: message %q does not say how to build it", name, msg)
		}
	}
}
