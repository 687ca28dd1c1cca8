package clusterzone

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/resolver"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/route53"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/source/kube"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/source/manifests"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/store"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	"github.com/coredns/caddy"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// shared is the source, resolver and record table that every server block
// with the same configuration uses: one watcher per process, however many
// views and zones read it. It lives in the caddy instance's storage, so a
// Corefile reload builds a fresh one and the old one is released.
type shared struct {
	cfg sharedConfig

	mu      sync.Mutex
	zones   map[string]bool
	refs    int
	started bool
	cancel  context.CancelFunc
	done    sync.WaitGroup

	store    atomic.Pointer[store.Store] // read on every query: no lock
	resolver *resolver.Resolver
	mirror   *route53.Mirror
}

type sharedKey string

// acquireShared returns the shared state for cfg, creating it on first use,
// and counts one more user.
func acquireShared(c *caddy.Controller, cfg sharedConfig) *shared {
	k := sharedKey(cfg.key())
	s, _ := c.Get(k).(*shared)
	if s == nil {
		s = &shared{cfg: cfg, zones: map[string]bool{}}
		c.Set(k, s)
	}
	s.mu.Lock()
	s.refs++
	s.mu.Unlock()
	return s
}

func (s *shared) addZones(zones []string) {
	s.mu.Lock()
	for _, z := range zones {
		s.zones[z] = true
	}
	s.mu.Unlock()
}

// Store returns the store once started, nil before.
func (s *shared) Store() *store.Store { return s.store.Load() }

// start builds the pipeline and starts it (once, whichever block starts
// first): the record table and the store that feeds it (pipeline), the
// source that feeds the store (startSource), and the Route 53 mirror.
func (s *shared) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return nil
	}
	opts := s.cfg.translate
	opts.Zones = s.sortedZones()
	st, res, obs, err := s.pipeline(opts)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	client, err := s.startSource(ctx, opts, st, obs)
	if err == nil && s.cfg.route53 != nil {
		err = s.startMirror(ctx, st.Table(), client, st.Synced)
	}
	if err != nil {
		cancel()
		res.Stop()
		return err
	}
	s.resolver, s.cancel, s.started = res, cancel, true
	s.store.Store(st)
	return nil
}

// sortedZones returns the zones of every block sharing s. s.mu is held.
func (s *shared) sortedZones() []string {
	zones := make([]string, 0, len(s.zones))
	for z := range s.zones {
		zones = append(zones, z)
	}
	sort.Strings(zones)
	return zones
}

// pipeline makes the record table, the resolver of hostnames and the store
// that applies translations to the table, with the reporter of what the
// store does (logs, metrics, Events) and the table's gauges.
func (s *shared) pipeline(opts translate.Options) (*store.Store, *resolver.Resolver, *reporter, error) {
	t := table.New(opts.Zones, s.cfg.ownerID)
	obs := &reporter{ownerID: s.cfg.ownerID}
	res, err := resolver.New(s.cfg.resolvers, nil)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("resolver: %v", err)
	}
	res.SetOnError(func(host string, err error) {
		resolverErrors.Inc()
		log.Warningf("resolving load balancer hostname %s: %v", host, err)
	})
	st := store.New(opts, t, res, obs)
	res.SetOnChange(st.HostChanged)
	t.Subscribe(func(table.Change) { obs.gauges(t) })
	for _, z := range opts.Zones {
		serialGauge.WithLabelValues(z).Set(float64(t.PeekSerial(z)))
	}
	return st, res, obs, nil
}

// startSource starts the source feeding st until ctx is done: the manifest
// files (loaded before it returns), or the API server. It returns the
// Kubernetes client, nil for manifests; with events on, obs records Events
// through it.
func (s *shared) startSource(ctx context.Context, opts translate.Options, st *store.Store, obs *reporter) (kubernetes.Interface, error) {
	if len(s.cfg.manifests) > 0 {
		src := manifests.New(s.cfg.manifests, opts, st)
		src.OnError = func(err error) {
			manifestErrors.Inc()
			log.Errorf("manifests: %v", err)
		}
		src.OnWarning = func(msg string) { log.Warningf("manifests: %s", msg) }
		if err := src.Load(); err != nil {
			return nil, fmt.Errorf("manifests: %v", err)
		}
		s.goRun(func() {
			if err := src.Run(ctx); err != nil {
				log.Errorf("manifests: watching for changes: %v", err)
			}
		})
		return nil, nil
	}
	rc, err := kube.RESTConfig(s.cfg.kube)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %v", err)
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %v", err)
	}
	if s.cfg.events {
		rec, stop := kube.NewEventRecorder(client, pluginName)
		obs.events = rec
		s.goRun(func() { <-ctx.Done(); stop() })
	}
	src := kube.New(s.cfg.kube, client, opts, st)
	s.goRun(func() { src.Run(ctx) })
	return client, nil
}

// startMirror starts the Route 53 mirror, once the source has loaded its
// first full state (synced): under leader election with a Kubernetes source,
// directly otherwise. The mirror's first full sync compares the hosted zone
// with the whole table; on a table still loading it would delete, under
// policy sync, every record whose Service was not listed yet, and create it
// again a moment later.
func (s *shared) startMirror(ctx context.Context, t *table.Table, client kubernetes.Interface, synced func() bool) error {
	cfg := *s.cfg.route53
	r53, err := route53.NewClient(ctx, cfg)
	if err != nil {
		return fmt.Errorf("route53: %v", err)
	}
	if cfg.Zones, err = route53.DiscoverZones(ctx, r53, cfg.Zones); err != nil {
		return fmt.Errorf("route53: %v", err)
	}
	m := route53.New(cfg, t, r53)
	t.Subscribe(func(ch table.Change) { m.Changed(ch.Names) })
	s.mirror = m
	if client == nil {
		s.goRun(func() {
			if cache.WaitForCacheSync(ctx.Done(), synced) {
				m.Run(ctx)
			}
		})
		return nil
	}
	id, _ := os.Hostname()
	id = fmt.Sprintf("%s_%d", id, os.Getpid())
	s.goRun(func() {
		if cache.WaitForCacheSync(ctx.Done(), synced) {
			route53.RunLeaderElected(ctx, client, cfg.LeaseNamespace, cfg.LeaseName, id, m.Run)
		}
	})
	return nil
}

func (s *shared) goRun(f func()) {
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		f()
	}()
}

// release drops one user; the last one stops everything.
func (s *shared) release() error {
	s.mu.Lock()
	s.refs--
	last := s.refs == 0 && s.started
	if last {
		s.started = false
	}
	s.mu.Unlock()
	if !last {
		return nil
	}
	s.cancel()
	s.resolver.Stop()
	s.done.Wait()
	return nil
}

// ready reports whether the first full state has been loaded.
func (s *shared) ready() bool {
	st := s.Store()
	return st != nil && st.Synced()
}

var errNotStarted = errors.New("clusterzone: not started")
