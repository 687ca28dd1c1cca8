package kube

import (
	"fmt"
	"strings"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// Translated is what the informer's cache holds for a Service: its
// translation, and nothing else of the Service (no annotations, no spec, no
// metadata but what translate.Result keeps). The Sink gets the same pointer
// (as a *translate.Result) and may keep it, so a Service costs one
// translation in memory, shared by the cache and the Sink.
type Translated translate.Result

// Result returns the translation.
func (t *Translated) Result() *translate.Result { return (*translate.Result)(t) }

// GetObjectMeta returns the namespace and name of the Service: what
// client-go's cache needs of an object (its key, through meta.Accessor).
func (t *Translated) GetObjectMeta() metav1.Object {
	ns, name := t.Result().NamespaceName()
	return &metav1.ObjectMeta{Namespace: ns, Name: name}
}

// Transformer returns the informer's transform function for opts. It
// translates each Service as it arrives (before it enters the cache) and
// returns a *Translated: the Service object itself, with its annotations
// and the rest, is garbage from then on. A cache.DeletedFinalStateUnknown is
// returned with its object translated.
//
// The function is idempotent, as client-go requires: a *Translated is
// returned as it is.
func Transformer(opts translate.Options) cache.TransformFunc {
	return transformer(func(svc *corev1.Service) *Translated {
		r := translate.Service(svc, opts)
		return (*Translated)(&r)
	})
}

// Endpoints is what the EndpointSlice informer's cache holds for a slice:
// what translate.Join reads of it.
type Endpoints translate.EndpointSlice

// Slice returns the translated slice.
func (e *Endpoints) Slice() *translate.EndpointSlice { return (*translate.EndpointSlice)(e) }

// GetObjectMeta returns the slice's namespace and name (its cache key).
func (e *Endpoints) GetObjectMeta() metav1.Object {
	ns, name, _ := strings.Cut(e.Key, "/")
	return &metav1.ObjectMeta{Namespace: ns, Name: name}
}

// NodeAddrs is what the Node informer's cache holds for a Node: its name and
// addresses.
type NodeAddrs translate.Node

// Node returns the translated node.
func (n *NodeAddrs) Node() *translate.Node { return (*translate.Node)(n) }

// GetObjectMeta returns the node's name (its cache key).
func (n *NodeAddrs) GetObjectMeta() metav1.Object { return &metav1.ObjectMeta{Name: n.Name} }

// sliceTransform and nodeTransform are the transforms of the EndpointSlice
// and Node informers (idempotent, as client-go requires).
var (
	sliceTransform = transformer(func(es *discoveryv1.EndpointSlice) *Endpoints {
		t := translate.FromEndpointSlice(es)
		return (*Endpoints)(&t)
	})
	nodeTransform = transformer(func(n *corev1.Node) *NodeAddrs {
		t := translate.FromNode(n)
		return (*NodeAddrs)(&t)
	})
)

// transformer returns an informer transform that turns an *In into an
// *Out with f, keeps an *Out as it is, and transforms the object of a
// cache.DeletedFinalStateUnknown.
func transformer[In any, Out any](f func(*In) *Out) cache.TransformFunc {
	var transform cache.TransformFunc
	transform = func(obj any) (any, error) {
		switch o := obj.(type) {
		case *In:
			return f(o), nil
		case *Out:
			return o, nil
		case cache.DeletedFinalStateUnknown:
			if o.Obj != nil {
				inner, err := transform(o.Obj)
				if err != nil {
					return nil, err
				}
				o.Obj = inner
			}
			return o, nil
		}
		return nil, fmt.Errorf("unexpected object %T", obj)
	}
	return transform
}
