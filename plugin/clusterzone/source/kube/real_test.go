package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// TestRealAPIServer runs Sources against a real kube-apiserver and etcd
// (test/harness), as the plugin's own RBAC-restricted identity, connected
// through RESTConfig and a kubeconfig file.
func TestRealAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and kube-apiserver; skipped with -short")
	}
	c := harness.StartCluster(t)
	ctx := context.Background()
	ns := c.CreateNamespace(t, "czkube")
	other := c.CreateNamespace(t, "czother")
	admin := c.Admin.CoreV1()

	mk := func(ns, name string, typ corev1.ServiceType, lbls map[string]string) *corev1.Service {
		t.Helper()
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{
				Name: name, Namespace: ns, Labels: lbls,
				Annotations: map[string]string{"external-dns.alpha.kubernetes.io/hostname": name + ".example.org"},
			},
			Spec: corev1.ServiceSpec{
				Type:           typ,
				IPFamilyPolicy: ptr(corev1.IPFamilyPolicyPreferDualStack),
				Ports:          []corev1.ServicePort{{Name: "http", Port: 80}},
				Selector:       map[string]string{"app": name},
			},
		}
		out, err := admin.Services(ns).Create(ctx, svc, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating service %s/%s: %v", ns, name, err)
		}
		return out
	}
	update := func(ns, name string, f func(*corev1.Service)) {
		t.Helper()
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			svc, err := admin.Services(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			f(svc)
			_, err = admin.Services(ns).Update(ctx, svc, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatalf("updating service %s/%s: %v", ns, name, err)
		}
	}
	public := map[string]string{"dns": "public"}

	// Before the sources start: one matching Service, one that does not match.
	pre := mk(ns, "pre", corev1.ServiceTypeLoadBalancer, public)
	mk(ns, "hidden", corev1.ServiceTypeClusterIP, nil)

	run := func(cfg Config) (*Source, *recSink) {
		t.Helper()
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		rc, err := RESTConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		client, err := kubernetes.NewForConfig(rc)
		if err != nil {
			t.Fatal(err)
		}
		sink := newRecSink()
		s := New(cfg, client, testOpts, sink)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.Run(runCtx)
		}()
		t.Cleanup(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Errorf("Run did not return after its context was canceled")
			}
		})
		return s, sink
	}

	baseline := c.WatchCount(t, "services")
	selected, selSink := run(Config{Kubeconfig: c.Kubeconfig, Labels: "dns=public"})
	scoped, scopedSink := run(Config{Kubeconfig: c.Kubeconfig, Namespaces: []string{other}})
	harness.Eventually(t, 60*time.Second, func() error {
		if !selected.HasSynced() || !scoped.HasSynced() {
			return errors.New("sources not synced")
		}
		return nil
	})

	// Initial list: only the matching Service (default/kubernetes has
	// other labels), and nothing in the other namespace yet.
	if err := hasKeys(selSink, ns+"/pre")(); err != nil {
		t.Fatal(err)
	}
	if got := selSink.callList(); got[len(got)-1] != "synced" {
		t.Errorf("MarkSynced not after the initial list: %v", got)
	}
	if err := hasKeys(scopedSink)(); err != nil {
		t.Fatal(err)
	}
	// One WATCH per source (each has one informer).
	harness.Eventually(t, 30*time.Second, func() error {
		if n := c.WatchCount(t, "services"); n != baseline+2 {
			return fmt.Errorf("%d service watches open, want %d", n, baseline+2)
		}
		return nil
	})

	// The translation: the name, both ClusterIPs (dual-stack cluster), the
	// UID (for Events) and the creation time (for conflicts).
	got := selSink.get(ns + "/pre")
	if got.UID != string(pre.UID) || !got.Created.Equal(pre.CreationTimestamp.Time) || !slices.Equal(names(got), []string{"pre.example.org."}) ||
		len(got.Endpoints[0].Internal) != 2 || got.Endpoints[0].Internal[0].String() != pre.Spec.ClusterIPs[0] {
		t.Errorf("sink got %+v for %+v", got, pre)
	}

	// Status updates arrive.
	c.SetLoadBalancerIngress(t, ns, "pre", []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}, {Hostname: "lb.example.net"}})
	harness.Eventually(t, 20*time.Second, func() error {
		ext := selSink.get(ns + "/pre").Endpoints[0].External
		if fmt.Sprint(ext.IPs) != "[192.0.2.10]" || !slices.Equal(ext.Hostnames, []string{"lb.example.net."}) {
			return fmt.Errorf("external addresses %+v", ext)
		}
		return nil
	})

	// Label selector on watch events: a matching create arrives, a
	// non-matching one does not; gaining the label is an add, losing it a
	// delete.
	mk(ns, "web", corev1.ServiceTypeClusterIP, public)
	mk(ns, "plain", corev1.ServiceTypeClusterIP, nil)
	harness.Eventually(t, 20*time.Second, hasKeys(selSink, ns+"/pre", ns+"/web"))
	update(ns, "plain", func(s *corev1.Service) { s.Labels = public })
	harness.Eventually(t, 20*time.Second, hasKeys(selSink, ns+"/plain", ns+"/pre", ns+"/web"))
	update(ns, "web", func(s *corev1.Service) { s.Labels = nil })
	harness.Eventually(t, 20*time.Second, hasKeys(selSink, ns+"/plain", ns+"/pre"))
	if err := admin.Services(ns).Delete(ctx, "plain", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 20*time.Second, hasKeys(selSink, ns+"/pre"))
	if got, want := selSink.deleted(), []string{ns + "/web", ns + "/plain"}; !slices.Equal(got, want) {
		t.Errorf("deletes = %v, want %v", got, want)
	}

	// Namespace restriction.
	mk(other, "elsewhere", corev1.ServiceTypeClusterIP, nil)
	harness.Eventually(t, 20*time.Second, hasKeys(scopedSink, other+"/elsewhere"))
	if err := hasKeys(selSink, ns+"/pre")(); err != nil {
		t.Errorf("selected source: %v", err)
	}

	// Events on Services, written as the plugin's identity.
	rc, err := RESTConfig(Config{Kubeconfig: c.Kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	evClient, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	rec, stop := NewEventRecorder(evClient, "clusterzone")
	defer stop()
	rec.Event(ServiceReference(selSink.get(ns+"/pre")), corev1.EventTypeWarning, "InvalidAnnotation", "bad ttl")
	harness.Eventually(t, 30*time.Second, func() error {
		list, err := admin.Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=pre"})
		if err != nil {
			return err
		}
		for _, ev := range list.Items {
			o := ev.InvolvedObject
			if ev.Reason == "InvalidAnnotation" && o.Kind == "Service" && o.APIVersion == "v1" && o.UID == pre.UID {
				return nil
			}
		}
		return fmt.Errorf("no matching event in %d events", len(list.Items))
	})

	// API server outage: the sinks keep their state, nothing is deleted,
	// and changes after the restart arrive.
	selBefore, scopedBefore := len(selSink.deleted()), len(scopedSink.deleted())
	c.StopAPIServer(t)
	time.Sleep(3 * time.Second) // let the reflectors fail and back off
	if err := hasKeys(selSink, ns+"/pre")(); err != nil {
		t.Errorf("during the outage: %v", err)
	}
	c.StartAPIServer(t)
	update(ns, "pre", func(s *corev1.Service) {
		s.Annotations["external-dns.alpha.kubernetes.io/hostname"] = "after.example.org"
	})
	mk(other, "after", corev1.ServiceTypeClusterIP, nil)
	harness.Eventually(t, 90*time.Second, func() error {
		if n := names(selSink.get(ns + "/pre")); !slices.Equal(n, []string{"after.example.org."}) {
			return fmt.Errorf("update after restart not seen (names %v)", n)
		}
		return hasKeys(scopedSink, other+"/after", other+"/elsewhere")()
	})
	if n := len(selSink.deleted()); n != selBefore {
		t.Errorf("deletes during the outage: %v", selSink.deleted()[selBefore:])
	}
	if n := len(scopedSink.deleted()); n != scopedBefore {
		t.Errorf("deletes during the outage: %v", scopedSink.deleted()[scopedBefore:])
	}
	if err := hasKeys(selSink, ns+"/pre")(); err != nil {
		t.Error(err)
	}
	for _, s := range []*recSink{selSink, scopedSink} {
		if n := s.syncedCount(); n != 1 {
			t.Errorf("MarkSynced called %d times, want 1", n)
		}
	}
}

func ptr[T any](v T) *T { return &v }
