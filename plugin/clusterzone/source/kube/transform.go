package kube

import (
	"fmt"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	corev1 "k8s.io/api/core/v1"
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
	var transform func(obj interface{}) (interface{}, error)
	transform = func(obj interface{}) (interface{}, error) {
		switch o := obj.(type) {
		case *corev1.Service:
			r := translate.Service(o, opts)
			return (*Translated)(&r), nil
		case *Translated:
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
		default:
			return nil, fmt.Errorf("unexpected object %T", obj)
		}
	}
	return transform
}
