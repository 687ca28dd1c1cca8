package kube

import (
	"os"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// EventRecorder records Kubernetes Events on Services (name conflicts,
// invalid annotations).
type EventRecorder interface {
	// Event records an event on svc. eventType is corev1.EventTypeNormal or
	// corev1.EventTypeWarning (other types are dropped); reason is a short
	// UpperCamelCase word. Event does not block.
	Event(svc *corev1.Service, eventType, reason, message string)
}

// NewEventRecorder returns an EventRecorder that writes core/v1 Events
// through client, with component as the event source, and a function that
// stops it. Events are written from a background goroutine with client-go's
// event broadcaster, which aggregates similar events, rate-limits each
// object's events and drops them when its queue is full; nothing blocks the
// caller. Events recorded after stop are dropped.
func NewEventRecorder(client kubernetes.Interface, component string) (EventRecorder, func()) {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events(corev1.NamespaceAll)})
	host, _ := os.Hostname()
	r := &eventRecorder{rec: b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component, Host: host})}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			r.stopped.Store(true)
			b.Shutdown()
		})
	}
	return r, stop
}

type eventRecorder struct {
	rec     record.EventRecorder
	stopped atomic.Bool
}

// Event implements EventRecorder.
func (r *eventRecorder) Event(svc *corev1.Service, eventType, reason, message string) {
	if svc == nil || r.stopped.Load() {
		return
	}
	r.rec.Event(ServiceReference(svc), eventType, reason, message)
}

// ServiceReference returns the object reference of svc used as an Event's
// involvedObject: apiVersion v1, kind Service, namespace, name, UID and
// resourceVersion. It works on the slim objects made by Transform, which
// keep the UID but no type metadata.
func ServiceReference(svc *corev1.Service) *corev1.ObjectReference {
	return &corev1.ObjectReference{
		APIVersion:      "v1",
		Kind:            "Service",
		Namespace:       svc.Namespace,
		Name:            svc.Name,
		UID:             svc.UID,
		ResourceVersion: svc.ResourceVersion,
	}
}
