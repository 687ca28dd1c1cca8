package kube

import (
	"os"
	"sync"
	"sync/atomic"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// EventRecorder records Kubernetes Events on Services (name conflicts,
// invalid annotations).
type EventRecorder interface {
	// Event records an event on the Service ref (see ServiceReference). eventType is corev1.EventTypeNormal or
	// corev1.EventTypeWarning (other types are dropped); reason is a short
	// UpperCamelCase word. Event does not block.
	Event(ref *corev1.ObjectReference, eventType, reason, message string)
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
func (r *eventRecorder) Event(ref *corev1.ObjectReference, eventType, reason, message string) {
	if ref == nil || r.stopped.Load() {
		return
	}
	r.rec.Event(ref, eventType, reason, message)
}

// ServiceReference returns the object reference used as an Event's
// involvedObject for the Service res is the translation of: apiVersion v1,
// kind Service, namespace, name and UID (what `kubectl describe service`
// matches events on).
func ServiceReference(res *translate.Result) *corev1.ObjectReference {
	ns, name := res.NamespaceName()
	return &corev1.ObjectReference{
		APIVersion: "v1",
		Kind:       "Service",
		Namespace:  ns,
		Name:       name,
		UID:        types.UID(res.UID),
	}
}
