package harness

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// PauseImage is the container image of the Pods CreatePod writes. Nothing
// pulls or runs it (there is no kubelet); it only has to be a valid name.
const PauseImage = "registry.k8s.io/pause:3.10"

// PodSpec describes a Pod for CreatePod: the few fields the EndpointSlice
// controller and the plugin look at.
type PodSpec struct {
	// Name is the Pod's name (required).
	Name string
	// Labels are the Pod's labels (match them with a Service selector).
	Labels map[string]string
	// NodeName is spec.nodeName. The EndpointSlice controller skips Pods
	// whose Node does not exist, so create it first with CreateNode.
	NodeName string
	// Hostname and Subdomain are spec.hostname and spec.subdomain; an
	// endpoint gets hostname Hostname only in the slices of the Service named
	// Subdomain in the Pod's namespace.
	Hostname string
	// Subdomain is spec.subdomain; see Hostname.
	Subdomain string
	// IPs are status.podIPs (at most one per family); the first is also
	// status.podIP. A Pod without IPs is in no EndpointSlice.
	IPs []string
	// Ready sets the Ready and ContainersReady conditions to True (else
	// False).
	Ready bool
	// HostIP is status.hostIP and status.hostIPs[0]; empty leaves them unset.
	HostIP string
	// Ports are the container's ports (for Services with a named
	// targetPort); a numeric targetPort needs none.
	Ports []corev1.ContainerPort
}

// CreateNode creates a Node as admin and sets its status through the status
// subresource: addrs as status.addresses and a Ready=True condition. The
// Node has the label kubernetes.io/hostname=name. Nothing watches its
// heartbeat (no node lifecycle controller), so it stays Ready.
func (c *Cluster) CreateNode(t testing.TB, name string, addrs ...corev1.NodeAddress) *corev1.Node {
	t.Helper()
	ctx := context.Background()
	node, err := c.Admin.CoreV1().Nodes().Create(ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   name,
			Labels: map[string]string{corev1.LabelHostname: name},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("harness: creating node %s: %v", name, err)
	}
	now := metav1.Now()
	node.Status.Addresses = addrs
	node.Status.Phase = corev1.NodeRunning
	node.Status.Conditions = []corev1.NodeCondition{{
		Type:               corev1.NodeReady,
		Status:             corev1.ConditionTrue,
		Reason:             "KubeletReady",
		Message:            "set by the test harness",
		LastHeartbeatTime:  now,
		LastTransitionTime: now,
	}}
	node, err = c.Admin.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("harness: setting status of node %s: %v", name, err)
	}
	return node
}

// CreatePod creates a Pod in namespace ns as admin, bound to spec.NodeName
// (no scheduler is needed) with one container running PauseImage, and then
// sets its status through the status subresource as a kubelet would: phase
// Running, podIP/podIPs from spec.IPs, hostIP/hostIPs from spec.HostIP, and
// the conditions PodScheduled and Initialized (True), ContainersReady and
// Ready (True or False per spec.Ready). It costs two API requests. It returns
// the Pod as stored after the status update.
func (c *Cluster) CreatePod(t testing.TB, ns string, spec PodSpec) *corev1.Pod {
	t.Helper()
	pod, err := NewPod(context.Background(), c.Admin, ns, spec)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	return pod
}

// NewPod is CreatePod through client, returning errors instead of failing a
// test (for callers creating Pods from several goroutines).
func NewPod(ctx context.Context, client kubernetes.Interface, ns string, spec PodSpec) (*corev1.Pod, error) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: spec.Name, Namespace: ns, Labels: spec.Labels},
		Spec: corev1.PodSpec{
			NodeName:                      spec.NodeName,
			Hostname:                      spec.Hostname,
			Subdomain:                     spec.Subdomain,
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			EnableServiceLinks:            ptr.To(false),
			Containers: []corev1.Container{{
				Name:  "pause",
				Image: PauseImage,
				Ports: spec.Ports,
			}},
		},
	}
	created, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating pod %s/%s: %w", ns, spec.Name, err)
	}
	now := metav1.Now()
	st := corev1.PodStatus{
		Phase:     corev1.PodRunning,
		StartTime: &now,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
		},
		QOSClass: created.Status.QOSClass,
	}
	SetReadyConditions(&st, spec.Ready, now)
	if spec.HostIP != "" {
		st.HostIP = spec.HostIP
		st.HostIPs = []corev1.HostIP{{IP: spec.HostIP}}
	}
	if len(spec.IPs) > 0 {
		st.PodIP = spec.IPs[0]
		for _, ip := range spec.IPs {
			st.PodIPs = append(st.PodIPs, corev1.PodIP{IP: ip})
		}
	}
	created.Status = st
	updated, err := client.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("setting status of pod %s/%s: %w", ns, spec.Name, err)
	}
	return updated, nil
}

// SetReadyConditions sets (or adds) the Ready and ContainersReady
// conditions, changing lastTransitionTime only when the status changes.
func SetReadyConditions(st *corev1.PodStatus, ready bool, now metav1.Time) {
	want := corev1.ConditionFalse
	reason := "ContainersNotReady"
	if ready {
		want, reason = corev1.ConditionTrue, ""
	}
	for _, typ := range []corev1.PodConditionType{corev1.ContainersReady, corev1.PodReady} {
		found := false
		for i := range st.Conditions {
			cond := &st.Conditions[i]
			if cond.Type != typ {
				continue
			}
			found = true
			if cond.Status != want {
				cond.Status, cond.Reason, cond.LastTransitionTime = want, reason, now
			}
		}
		if !found {
			st.Conditions = append(st.Conditions, corev1.PodCondition{
				Type: typ, Status: want, Reason: reason, LastTransitionTime: now,
			})
		}
	}
}

// SetPodReady sets the Ready and ContainersReady conditions of a Pod to
// ready (True or False) through the status subresource, retrying on
// conflicts, as admin.
func (c *Cluster) SetPodReady(t testing.TB, ns, name string, ready bool) {
	t.Helper()
	ctx := context.Background()
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		pod, err := c.Admin.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		SetReadyConditions(&pod.Status, ready, metav1.Now())
		_, err = c.Admin.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("harness: setting pod %s/%s ready=%v: %v", ns, name, ready, err)
	}
}

// DeletePod deletes a Pod with grace period 0, as admin: it is removed at
// once (no kubelet would confirm a graceful deletion), so its endpoints leave
// the EndpointSlices without a terminating phase. To test terminating
// endpoints, delete with a grace period yourself: the Pod then keeps a
// deletionTimestamp until a test deletes it again with grace period 0.
func (c *Cluster) DeletePod(t testing.TB, ns, name string) {
	t.Helper()
	err := c.Admin.CoreV1().Pods(ns).Delete(context.Background(), name,
		metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	if err != nil {
		t.Fatalf("harness: deleting pod %s/%s: %v", ns, name, err)
	}
}

// EndpointSlices returns the EndpointSlices of a Service (label
// kubernetes.io/service-name=service) in namespace ns, sorted by address
// type and name, as admin.
func (c *Cluster) EndpointSlices(t testing.TB, ns, service string) []discoveryv1.EndpointSlice {
	t.Helper()
	slices, err := c.listEndpointSlices(ns, service)
	if err != nil {
		t.Fatalf("harness: listing EndpointSlices of service %s/%s: %v", ns, service, err)
	}
	return slices
}

func (c *Cluster) listEndpointSlices(ns, service string) ([]discoveryv1.EndpointSlice, error) {
	list, err := c.Admin.DiscoveryV1().EndpointSlices(ns).List(context.Background(),
		metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
	if err != nil {
		return nil, err
	}
	items := list.Items
	sort.Slice(items, func(i, j int) bool {
		if items[i].AddressType != items[j].AddressType {
			return items[i].AddressType < items[j].AddressType
		}
		return items[i].Name < items[j].Name
	})
	return items, nil
}

// WaitEndpointSlices polls the EndpointSlices of a Service (label
// kubernetes.io/service-name=service in namespace ns, sorted as by
// EndpointSlices) every 50ms until cond holds for them, and fails the test
// with a dump of the last list (FormatEndpointSlices) when timeout passes
// first. cond may be called with no slices.
func (c *Cluster) WaitEndpointSlices(t testing.TB, ns, service string, cond func([]discoveryv1.EndpointSlice) bool, timeout time.Duration) {
	t.Helper()
	var last []discoveryv1.EndpointSlice
	var lastErr error
	err := poll(timeout, func() error {
		slices, err := c.listEndpointSlices(ns, service)
		if err != nil {
			lastErr = err
			return err
		}
		last, lastErr = slices, nil
		if cond(slices) {
			return nil
		}
		return fmt.Errorf("condition not met")
	})
	if err != nil {
		extra := ""
		if lastErr != nil {
			extra = fmt.Sprintf(" (last list error: %v)", lastErr)
		}
		t.Fatalf("harness: EndpointSlices of service %s/%s did not meet the condition within %v%s; last seen:\n%s",
			ns, service, timeout, extra, FormatEndpointSlices(last))
	}
}

// FormatEndpointSlices renders EndpointSlices for test failure messages, one
// line per slice and one per endpoint (addresses, conditions, hostname, node,
// zone, target).
func FormatEndpointSlices(slices []discoveryv1.EndpointSlice) string {
	if len(slices) == 0 {
		return "  (no EndpointSlices)"
	}
	var b strings.Builder
	for _, s := range slices {
		var ports []string
		for _, p := range s.Ports {
			ports = append(ports, fmt.Sprintf("%s:%s/%s", deref(p.Name, ""), derefInt(p.Port), deref(p.Protocol, "")))
		}
		fmt.Fprintf(&b, "  %s %s ports=[%s] managed-by=%s endpoints=%d\n", s.Name, s.AddressType,
			strings.Join(ports, " "), s.Labels[discoveryv1.LabelManagedBy], len(s.Endpoints))
		for _, e := range s.Endpoints {
			target := "-"
			if e.TargetRef != nil {
				target = e.TargetRef.Kind + " " + e.TargetRef.Namespace + "/" + e.TargetRef.Name
			}
			fmt.Fprintf(&b, "    %s ready=%s serving=%s terminating=%s hostname=%s node=%s zone=%s target=%s\n",
				strings.Join(e.Addresses, ","), derefBool(e.Conditions.Ready), derefBool(e.Conditions.Serving),
				derefBool(e.Conditions.Terminating), deref(e.Hostname, "-"), deref(e.NodeName, "-"), deref(e.Zone, "-"), target)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func deref[T ~string](p *T, def string) string {
	if p == nil {
		return def
	}
	return string(*p)
}

func derefInt(p *int32) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

func derefBool(p *bool) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}
