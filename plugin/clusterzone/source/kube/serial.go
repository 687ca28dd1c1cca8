package kube

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
)

// DefaultSerialLease is the name of the Lease through which replicas
// announce their start (RunSerialLease).
const DefaultSerialLease = "clusterzone-serial"

const serviceAccountNSFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// PodNamespace is the namespace CoreDNS runs in: POD_NAMESPACE, else the
// service account's namespace, else kube-system.
func PodNamespace() string {
	if ns := strings.TrimSpace(os.Getenv("POD_NAMESPACE")); ns != "" {
		return ns
	}
	if b, err := os.ReadFile(serviceAccountNSFile); err == nil {
		if ns := strings.TrimSpace(string(b)); ns != "" {
			return ns
		}
	}
	return "kube-system"
}

// RunSerialLease announces this replica's start in the coordination.k8s.io
// Lease namespace/name (its renewTime, holder identity) and, until ctx is
// done, calls raise with the renewTime of every announcement, its own
// included: each replica raises its SOA serials to the latest start, so
// replicas watching the same API server give the same serial for the same
// content also after one of them restarted (the table's serial rule). It is
// called once the table holds the first full state. Without the permission
// to write or watch the Lease it logs once and returns: serials then agree
// again at the next change.
func RunSerialLease(ctx context.Context, client kubernetes.Interface, namespace, name, identity string, raise func(time.Time)) {
	now := metav1.NewMicroTime(time.Now())
	leases := client.CoordinationV1().Leases(namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		l, err := leases.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name,
				Labels: map[string]string{"app.kubernetes.io/name": "clusterzone"}}}
			l.Spec.HolderIdentity, l.Spec.RenewTime = &identity, &now
			_, err = leases.Create(ctx, l, metav1.CreateOptions{})
			return err
		}
		if err != nil {
			return err
		}
		if l.Spec.RenewTime != nil && l.Spec.RenewTime.After(now.Time) {
			return nil // a later start was announced: keep it
		}
		l.Spec.HolderIdentity, l.Spec.RenewTime = &identity, &now
		_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			log.Warningf("Serial lease %s/%s: %v; replicas' SOA serials agree again at the next change", namespace, name, err)
		}
		return
	}
	raise(now.Time)
	f := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		}))
	inf := f.Coordination().V1().Leases().Informer()
	seen := func(obj any) {
		if l, ok := obj.(*coordinationv1.Lease); ok && l.Spec.RenewTime != nil {
			raise(l.Spec.RenewTime.Time)
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    seen,
		UpdateFunc: func(_, obj any) { seen(obj) },
	}); err != nil {
		log.Warningf("Serial lease %s/%s: %v", namespace, name, err)
		return
	}
	f.Start(ctx.Done())
	<-ctx.Done()
	f.Shutdown()
}

// ParseLeaseName splits a Corefile's "NAMESPACE/NAME" of a Lease, checking
// both parts are valid lower-case Kubernetes names.
func ParseLeaseName(s string) (namespace, name string, err error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("must be NAMESPACE/NAME, got %q", s)
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return "", "", fmt.Errorf("namespace %q: %s", ns, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", "", fmt.Errorf("name %q: %s", name, strings.Join(errs, "; "))
	}
	return ns, name, nil
}
