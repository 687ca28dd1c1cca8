package kube

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Sink receives the translations of the Services a Source watches. A Source
// never calls its Sink's methods concurrently. The translations passed to
// Upsert are shared with the informer's cache and must not be modified.
type Sink interface {
	// Upsert adds or updates a Service's translation. It is called from
	// the informer's goroutine and must be cheap.
	Upsert(res *translate.Result)
	// Delete removes the Service with key "namespace/name".
	Delete(key string)
	// MarkSynced is called once, after the first full list of every
	// informer has been delivered.
	MarkSynced()
}

// Source watches Services on the API server, translates them and feeds a Sink.
//
// It runs one client-go informer per namespace (one for all namespaces
// unless restricted), made with cache.NewInformerWithOptions rather than a
// shared informer: its handler is called in the goroutine that updates the
// informer's cache, as the watch event is processed, instead of being handed
// to a listener goroutine (two goroutine hand-offs that delay an answer on a
// busy machine). Nothing else in the process shares these informers.
type Source struct {
	sink        Sink
	scope       string
	controllers []cache.Controller
	caches      []cache.Store // the informers' caches (translations), for the count at sync

	mu      sync.Mutex // serializes calls to sink
	running atomic.Bool
	synced  atomic.Bool
}

// New returns a Source for cfg that lists and watches through client,
// translates each Service with opts and feeds sink. cfg should have passed Validate; an invalid label selector is
// rejected by the API server and the Source then never syncs. Nothing
// happens until Run.
func New(cfg Config, client kubernetes.Interface, opts translate.Options, sink Sink) *Source {
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

	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    s.upsert,
		UpdateFunc: func(_, obj interface{}) { s.upsert(obj) },
		DeleteFunc: s.onDelete,
	}
	for _, ns := range namespaces {
		store, ctrl := cache.NewInformerWithOptions(cache.InformerOptions{
			ListerWatcher: listWatch(client, ns, selector),
			ObjectType:    &corev1.Service{},
			Handler:       handler,
			ResyncPeriod:  0,
			Transform:     Transformer(opts),
		})
		s.controllers = append(s.controllers, ctrl)
		s.caches = append(s.caches, store)
	}
	return s
}

// listWatch lists and watches the Services of namespace ns
// (metav1.NamespaceAll for all) that match selector, with client-go's
// watch-list (streaming) semantics unless the client says it does not
// support them. A list or watch request that fails is logged here; the
// reflector retries it with backoff, and the Sink keeps its state meanwhile.
func listWatch(client kubernetes.Interface, ns, selector string) cache.ListerWatcher {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.LabelSelector = selector
			out, err := client.CoreV1().Services(ns).List(ctx, opts)
			logRequestError("list", err)
			return out, err
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.LabelSelector = selector
			out, err := client.CoreV1().Services(ns).Watch(ctx, opts)
			logRequestError("watch", err)
			return out, err
		},
	}
	return cache.ToListWatcherWithWatchListSemantics(lw, client)
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
	for _, ctrl := range s.controllers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctrl.RunWithContext(ctx)
		}()
	}
	defer wg.Wait()

	// A controller has synced once its first full list has been processed,
	// which here means delivered to the Sink (the handler runs in Process).
	synced := make([]cache.InformerSynced, len(s.controllers))
	for i, ctrl := range s.controllers {
		synced[i] = ctrl.HasSynced
	}
	log.Infof("Watching Services in %s", s.scope)
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return // ctx done before the first sync
	}
	s.mu.Lock()
	s.synced.Store(true)
	s.sink.MarkSynced()
	s.mu.Unlock()
	n := 0
	for _, c := range s.caches {
		n += len(c.ListKeys())
	}
	log.Infof("Synced %d Services in %s", n, s.scope)
	<-ctx.Done()
}

// HasSynced reports whether the first full list of every informer has been
// delivered to the Sink.
func (s *Source) HasSynced() bool { return s.synced.Load() }

// upsert passes a translated Service to the Sink.
func (s *Source) upsert(obj interface{}) {
	if t, ok := obj.(*Translated); ok {
		s.mu.Lock()
		s.sink.Upsert(t.Result())
		s.mu.Unlock()
	}
}

func (s *Source) onDelete(obj interface{}) {
	var key string
	switch o := obj.(type) {
	case *Translated:
		key = o.Key
	case cache.DeletedFinalStateUnknown:
		key = o.Key
	default:
		return
	}
	s.mu.Lock()
	s.sink.Delete(key)
	s.mu.Unlock()
}

// logRequestError logs a failed list or watch request (verb); nil is not
// logged. The reflector retries with backoff and the Sink keeps its state.
func logRequestError(verb string, err error) {
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled):
		// Stopping.
	case apierrors.IsResourceExpired(err) || apierrors.IsGone(err):
		log.Debugf("Service %s: %v (re-listing)", verb, err)
	default:
		log.Warningf("Failed to %s Services (retrying): %v", verb, err)
	}
}
