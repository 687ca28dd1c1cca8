package kube

import (
	"context"
	"errors"
	"io"
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
type Source struct {
	sink       Sink
	scope      string
	informers  []cache.SharedIndexInformer
	registered []cache.ResourceEventHandlerRegistration

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
		AddFunc:    s.onAdd,
		UpdateFunc: s.onUpdate,
		DeleteFunc: s.onDelete,
	}
	for _, ns := range namespaces {
		inf := newInformer(client, ns, selector)
		// Neither call can fail before the informer has started.
		if err := inf.SetTransform(Transformer(opts)); err != nil {
			log.Errorf("Failed to set the Service transform: %v", err)
		}
		if err := inf.SetWatchErrorHandlerWithContext(watchErrorHandler); err != nil {
			log.Errorf("Failed to set the watch error handler: %v", err)
		}
		reg, err := inf.AddEventHandler(handler)
		if err != nil {
			log.Errorf("Failed to add the Service event handler: %v", err)
			continue
		}
		s.informers = append(s.informers, inf)
		s.registered = append(s.registered, reg)
	}
	return s
}

// newInformer returns a shared informer on the Services of namespace ns
// (metav1.NamespaceAll for all) that match selector, with no periodic
// resync. It uses client-go's watch-list (streaming) semantics unless the
// client says it does not support them.
func newInformer(client kubernetes.Interface, ns, selector string) cache.SharedIndexInformer {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.LabelSelector = selector
			return client.CoreV1().Services(ns).List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.LabelSelector = selector
			return client.CoreV1().Services(ns).Watch(ctx, opts)
		},
	}
	return cache.NewSharedIndexInformerWithOptions(
		cache.ToListWatcherWithWatchListSemantics(lw, client),
		&corev1.Service{},
		cache.SharedIndexInformerOptions{ResyncPeriod: 0, ObjectDescription: "services"},
	)
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
			inf.RunWithContext(ctx)
		}()
	}
	defer wg.Wait()

	synced := make([]cache.InformerSynced, len(s.registered))
	for i, reg := range s.registered {
		synced[i] = reg.HasSynced
	}
	log.Infof("Watching Services in %s", s.scope)
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return // ctx done before the first sync
	}
	n := 0
	for _, inf := range s.informers {
		n += len(inf.GetStore().ListKeys())
	}
	s.mu.Lock()
	s.synced.Store(true)
	s.sink.MarkSynced()
	s.mu.Unlock()
	log.Infof("Synced %d Services in %s", n, s.scope)
	<-ctx.Done()
}

// HasSynced reports whether the first full list of every informer has been
// delivered to the Sink.
func (s *Source) HasSynced() bool { return s.synced.Load() }

func (s *Source) onAdd(obj interface{}) {
	if t, ok := obj.(*Translated); ok {
		s.upsert(t.Result())
	}
}

func (s *Source) onUpdate(_, obj interface{}) {
	if t, ok := obj.(*Translated); ok {
		s.upsert(t.Result())
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

func (s *Source) upsert(res *translate.Result) {
	s.mu.Lock()
	s.sink.Upsert(res)
	s.mu.Unlock()
}

// watchErrorHandler logs list and watch errors. The reflector retries by
// itself with backoff; the Sink keeps its state meanwhile.
func watchErrorHandler(_ context.Context, _ *cache.Reflector, err error) {
	switch {
	case apierrors.IsResourceExpired(err) || apierrors.IsGone(err):
		log.Debugf("Service watch closed, re-listing: %v", err)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		log.Debugf("Service watch closed: %v", err)
	default:
		log.Warningf("Failed to list or watch Services (retrying): %v", err)
	}
}
