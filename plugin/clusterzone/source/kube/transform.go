package kube

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// lastApplied is the annotation kubectl writes with the whole manifest; it is
// the one annotation that costs real memory and no translation reads it.
const lastApplied = corev1.LastAppliedConfigAnnotation

// Transform is the informer's transform function. It replaces a Service with
// a slim copy that keeps only what translation needs: name, namespace, UID,
// resourceVersion, creationTimestamp and annotations (all of them, because
// the annotation prefixes are configurable, except kubectl's
// last-applied-configuration); spec.type, clusterIP, clusterIPs,
// externalIPs, ipFamilies and externalName; and the ip and hostname of each
// status.loadBalancer.ingress. Labels (already used by the server-side
// selector), managedFields, ports, selector and the rest are dropped.
//
// A cache.DeletedFinalStateUnknown is returned with its object slimmed.
// Transform is idempotent, as client-go requires.
func Transform(obj interface{}) (interface{}, error) {
	switch o := obj.(type) {
	case *corev1.Service:
		return slim(o), nil
	case cache.DeletedFinalStateUnknown:
		if svc, ok := o.Obj.(*corev1.Service); ok {
			o.Obj = slim(svc)
		}
		return o, nil
	default:
		return nil, fmt.Errorf("unexpected object %T", obj)
	}
}

// slim returns a new Service with only the fields translation reads. The
// input is not modified; slices that are kept as a whole are shared with it.
func slim(svc *corev1.Service) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name:              svc.Name,
			Namespace:         svc.Namespace,
			UID:               svc.UID,
			ResourceVersion:   svc.ResourceVersion,
			CreationTimestamp: svc.CreationTimestamp,
			Annotations:       annotations(svc.Annotations),
		},
		Spec: corev1.ServiceSpec{
			Type:         svc.Spec.Type,
			ClusterIP:    svc.Spec.ClusterIP,
			ClusterIPs:   svc.Spec.ClusterIPs,
			ExternalIPs:  svc.Spec.ExternalIPs,
			IPFamilies:   svc.Spec.IPFamilies,
			ExternalName: svc.Spec.ExternalName,
		},
	}
	if in := svc.Status.LoadBalancer.Ingress; len(in) > 0 {
		s.Status.LoadBalancer.Ingress = make([]corev1.LoadBalancerIngress, len(in))
		for i := range in {
			s.Status.LoadBalancer.Ingress[i] = corev1.LoadBalancerIngress{IP: in[i].IP, Hostname: in[i].Hostname}
		}
	}
	return s
}

// annotations returns a without kubectl's last-applied-configuration; nil
// when nothing is left.
func annotations(a map[string]string) map[string]string {
	if len(a) == 0 {
		return nil
	}
	if _, ok := a[lastApplied]; !ok {
		return a
	}
	if len(a) == 1 {
		return nil
	}
	out := make(map[string]string, len(a)-1)
	for k, v := range a {
		if k != lastApplied {
			out[k] = v
		}
	}
	return out
}
