package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/source"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Source watches Services on the API server, and the EndpointSlices and
// Nodes when the configuration needs them, translates them and feeds a
// source.Sink.
//
// It runs client-go informers (one per namespace and kind, one for all
// namespaces unless restricted; Nodes are cluster-wide), made with
// cache.NewInformerWithOptions rather than shared informers: their handler
// is called in the goroutine that updates the informer's cache, as the
// watch event is processed, instead of being handed to a listener goroutine
// (two goroutine hand-offs that delay an answer on a busy machine). Each
// informer's transform turns the object into what translate reads of it, so
// the caches hold no Kubernetes objects.
type Source struct {
	sink      source.Sink
	scope     string
	informers []informer

	mu      sync.Mutex // serializes calls to sink
	running atomic.Bool
	synced  atomic.Bool
}

// informer is one informer of the Source and its cache (for the count at sync).
type informer struct {
	kind  string
	ctrl  cache.Controller
	cache cache.Store
}

// New returns a Source for cfg that lists and watches through client,
// translates each Service with opts and feeds sink. cfg should have passed
// Validate; an invalid label selector is rejected by the API server and the
// Source then never syncs. Nothing happens until Run.
func New(cfg Config, client kubernetes.Interface, opts translate.Options, sink source.Sink) *Source {
	s := &Source{sink: sink, scope: "all namespaces"}
	selector := cfg.selector()
	namespaces := cfg.namespaces()
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	} else {
		s.scope = "namespaces " + strings.Join(namespaces, ",")
	}
	if selector != "" {
		s.scope += " with labels " + selector
	}
	add := func(kind string, lw *cache.ListWatch, obj runtime.Object, transform cache.TransformFunc, upsert func(any), del func(string)) {
		store, ctrl := cache.NewInformerWithOptions(cache.InformerOptions{
			ListerWatcher: cache.ToListWatcherWithWatchListSemantics(lw, client),
			ObjectType:    obj,
			Handler: cache.ResourceEventHandlerFuncs{
				AddFunc:    func(o any) { s.deliver(func() { upsert(o) }) },
				UpdateFunc: func(_, o any) { s.deliver(func() { upsert(o) }) },
				DeleteFunc: func(o any) {
					if key := deletedKey(o); key != "" {
						s.deliver(func() { del(key) })
					}
				},
			},
			Transform: transform,
		})
		s.informers = append(s.informers, informer{kind: kind, ctrl: ctrl, cache: store})
	}
	for _, ns := range namespaces {
		svcs := client.CoreV1().Services(ns)
		add("Services", listWatch("Services", selector, svcs.List, svcs.Watch), &corev1.Service{}, Transformer(opts), func(o any) {
			if t, ok := o.(*Translated); ok {
				s.sink.Upsert(t.Result())
			}
		}, s.sink.Delete)
		if !cfg.EndpointSlices {
			continue
		}
		// Every EndpointSlice of the namespaces: a Service's labels are
		// not always on its slices (those not made by the controller).
		eps := client.DiscoveryV1().EndpointSlices(ns)
		add("EndpointSlices", listWatch("EndpointSlices", "", eps.List, eps.Watch), &discoveryv1.EndpointSlice{}, sliceTransform, func(o any) {
			if e, ok := o.(*Endpoints); ok {
				s.sink.UpsertEndpoints(e.Slice())
			}
		}, s.sink.DeleteEndpoints)
	}
	if cfg.Nodes {
		nodes := client.CoreV1().Nodes()
		add("Nodes", listWatch("Nodes", "", nodes.List, nodes.Watch), &corev1.Node{}, nodeTransform, func(o any) {
			if n, ok := o.(*NodeAddrs); ok {
				s.sink.UpsertNode(n.Node())
			}
		}, s.sink.DeleteNode)
	}
	return s
}

// listWatch lists and watches objects of kind with list and watch, with the
// label selector when not empty, logging a failed request (the reflector
// retries it with backoff, and the Sink keeps its state meanwhile).
func listWatch[L runtime.Object](kind, selector string,
	list func(context.Context, metav1.ListOptions) (L, error),
	watchf func(context.Context, metav1.ListOptions) (watch.Interface, error)) *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = selector
			out, err := list(ctx, o)
			logRequestError("list", kind, err)
			return out, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = selector
			out, err := watchf(ctx, o)
			logRequestError("watch", kind, err)
			return out, err
		},
	}
}

// deliver calls f, which calls the Sink, serialized with every other call.
func (s *Source) deliver(f func()) {
	s.mu.Lock()
	f()
	s.mu.Unlock()
}

// deletedKey returns the cache key of a deleted object (a translation, or
// a cache.DeletedFinalStateUnknown).
func deletedKey(obj any) string {
	switch o := obj.(type) {
	case cache.DeletedFinalStateUnknown:
		return o.Key
	case interface{ GetObjectMeta() metav1.Object }:
		m := o.GetObjectMeta()
		if m.GetNamespace() == "" {
			return m.GetName()
		}
		return m.GetNamespace() + "/" + m.GetName()
	}
	return ""
}

// Run starts the informers, calls the Sink's MarkSynced once every informer
// has delivered its first full list, and returns when ctx is done and the
// informers have stopped. Run must be called at most once.
func (s *Source) Run(ctx context.Context) {
	if !s.running.CompareAndSwap(false, true) {
		log.Warning("Kubernetes Service source is already running")
		return
	}
	var wg sync.WaitGroup
	for _, inf := range s.informers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inf.ctrl.RunWithContext(ctx)
		}()
	}
	defer wg.Wait()

	// A controller has synced once its first full list has been processed,
	// which here means delivered to the Sink (the handler runs in Process).
	synced := make([]cache.InformerSynced, len(s.informers))
	kinds := []string{}
	for i, inf := range s.informers {
		synced[i] = inf.ctrl.HasSynced
		if !slices.Contains(kinds, inf.kind) {
			kinds = append(kinds, inf.kind)
		}
	}
	log.Infof("Watching %s in %s", strings.Join(kinds, ", "), s.scope)
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return // ctx done before the first sync
	}
	s.mu.Lock()
	s.synced.Store(true)
	s.sink.MarkSynced()
	s.mu.Unlock()
	counts := map[string]int{}
	for _, inf := range s.informers {
		counts[inf.kind] += len(inf.cache.ListKeys())
	}
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
	}
	log.Infof("Synced %s in %s", strings.Join(parts, ", "), s.scope)
	<-ctx.Done()
}

// HasSynced reports whether the first full list of every informer has been
// delivered to the Sink.
func (s *Source) HasSynced() bool { return s.synced.Load() }

// logRequestError logs a failed list or watch request (verb) of kind; nil is not
// logged. The reflector retries with backoff and the Sink keeps its state.
func logRequestError(verb, kind string, err error) {
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled):
		// Stopping.
	case apierrors.IsResourceExpired(err) || apierrors.IsGone(err):
		log.Debugf("%s %s: %v (re-listing)", kind, verb, err)
	default:
		log.Warningf("Failed to %s %s (retrying): %v", verb, kind, err)
	}
}
