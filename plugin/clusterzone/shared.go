package clusterzone

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/resolver"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/route53"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/source/kube"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/source/manifests"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/store"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// shared is the source, resolver and record table that every server block
// with the same configuration uses: one watcher per process, however many
// views and zones read it. A Corefile reload whose clusterzone
// configuration is unchanged hands it over to the new instance (see
// sharedStates), which answers at once from the running table.
type shared struct {
	cfg sharedConfig
	key sharedKey

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

// sharedStates are the shared states of the process by configuration. A
// caddy instance's storage does not outlive a Corefile reload, and a fresh
// watcher answers SERVFAIL until it has listed every Service again; this
// registry lets the new instance take over the running one instead. It is
// the plugin's only process-wide state, for that reason.
var sharedStates = struct {
	sync.Mutex
	m map[sharedKey]*shared
}{m: map[sharedKey]*shared{}}

// lookupShared returns the shared state for cfg serving zones: the running
// one when it serves them all (a reload that changed nothing of it), else a
// new one. It counts no user: acquire, at startup, does.
func lookupShared(cfg sharedConfig, zones []string) *shared {
	k := sharedKey(cfg.key())
	sharedStates.Lock()
	defer sharedStates.Unlock()
	s := sharedStates.m[k]
	if s != nil {
		s.mu.Lock()
		stale := s.started && !s.covers(zones)
		s.mu.Unlock()
		if !stale {
			s.addZones(zones)
			return s
		}
	}
	s = &shared{cfg: cfg, key: k, zones: map[string]bool{}}
	s.addZones(zones)
	sharedStates.m[k] = s
	return s
}

// covers reports whether the running state serves every zone. s.mu is held.
func (s *shared) covers(zones []string) bool {
	for _, z := range zones {
		if !s.zones[z] {
			return false
		}
	}
	return true
}

// acquire counts one more user and starts s if it is not running.
func (s *shared) acquire() error {
	s.mu.Lock()
	s.refs++
	s.mu.Unlock()
	if err := s.start(); err != nil {
		_ = s.release()
		return err
	}
	return nil
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
	log.Infof("Started the source and the record table for %v (a reload that keeps this configuration keeps them)", opts.Zones)
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
	t.SetJournalLimits(s.cfg.journalEntries, s.cfg.journalBytes)
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
	if ns, name, ok := strings.Cut(s.cfg.serialLease, "/"); ok {
		// Announce the start once the table holds the first full state
		// (the table's serial rule).
		s.goRun(func() {
			if cache.WaitForCacheSync(ctx.Done(), st.Synced) {
				kube.RunSerialLease(ctx, client, ns, name, identity(), st.Table().Raise)
			}
		})
	}
	return client, nil
}

// identity names this process in Leases: host name and process id.
func identity() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s_%d", h, os.Getpid())
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
	t.Subscribe(func(ch table.Change) {
		if len(ch.Names) > 0 || len(ch.Routed) > 0 {
			m.Changed(slices.Concat(ch.Names, ch.Routed))
		}
	})
	s.mirror = m
	if client == nil {
		s.goRun(func() {
			if cache.WaitForCacheSync(ctx.Done(), synced) {
				m.Run(ctx)
			}
		})
		return nil
	}
	id := identity()
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
	sharedStates.Lock()
	if sharedStates.m[s.key] == s {
		delete(sharedStates.m, s.key)
	}
	sharedStates.Unlock()
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
