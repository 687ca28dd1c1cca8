// Package store joins the pieces between a source of Services and the record
// table: it keeps the translation of each Service, resolves load-balancer
// hostnames through the resolver, applies the result to the table per
// Service, and reports bad input and conflicts. Sources (the API server
// informer, manifest files) translate Services with translate.Service and
// call Upsert, Delete and MarkSynced.
package store

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"
)

// Resolver resolves load-balancer hostnames off the serving path.
type Resolver interface {
	// Addrs returns the current addresses of host without blocking; nil
	// while host has not been resolved yet.
	Addrs(host string) []netip.Addr
	// Watch starts keeping host fresh; Unwatch stops it.
	Watch(host string)
	Unwatch(host string)
}

// Observer is told about what the store does, for logs, metrics and events.
// Every method must be cheap and must not call back into the store.
type Observer interface {
	// Problem: part of the Service svc was invalid and was dropped.
	Problem(svc *translate.Result, p translate.Problem)
	// Skipped: the Service svc publishes nothing by choice (ignore or
	// controller annotation).
	Skipped(svc *translate.Result, reason string)
	// Conflict: a Service lost a name to another one. loser is the loser's
	// translation when the store still holds it, nil otherwise.
	Conflict(loser *translate.Result, c table.Conflict)
	// Applied: the table changed.
	Applied(ch table.Change)
}

// Store holds the last translation of every Service and keeps the table in
// step. It keeps the translations it is given (shared with the source, which
// must not modify them), not the Services.
type Store struct {
	opts     translate.Options
	table    *table.Table
	resolver Resolver
	obs      Observer
	synced   atomic.Bool

	mu      sync.Mutex
	results map[string]*translate.Result   // by namespace/name
	hosts   map[string]map[string]struct{} // LB hostname -> Service keys
}

// New returns a store feeding t. resolver may be nil (hostnames are then
// not resolved); obs may be nil.
func New(opts translate.Options, t *table.Table, resolver Resolver, obs Observer) *Store {
	return &Store{
		opts: opts, table: t, resolver: resolver, obs: obs,
		results: map[string]*translate.Result{},
		hosts:   map[string]map[string]struct{}{},
	}
}

// Table returns the record table the store feeds.
func (s *Store) Table() *table.Table { return s.table }

// Options returns the translate options.
func (s *Store) Options() translate.Options { return s.opts }

// MarkSynced records that the source has delivered its first full state.
func (s *Store) MarkSynced() { s.synced.Store(true) }

// Synced reports whether the first full state has been loaded.
func (s *Store) Synced() bool { return s.synced.Load() }

// Upsert adds or updates the Service res is the translation of (made with
// translate.Service and the store's Options). res must not be modified
// afterwards. A translation equal to the one held changes nothing and reports
// nothing again.
func (s *Store) Upsert(res *translate.Result) {
	key := res.Key
	s.mu.Lock()
	prev := s.results[key]
	s.results[key] = res // also when equal: the source's copy is the one to keep
	if prev != nil && prev.Equal(res) {
		s.mu.Unlock()
		return
	}
	s.retrackHosts(key, prev, res)
	ch := s.apply(key, res)
	s.mu.Unlock()

	if s.obs == nil {
		return
	}
	if res.Skipped != "" && (prev == nil || prev.Skipped != res.Skipped) {
		s.obs.Skipped(res, res.Skipped)
	}
	for _, p := range res.Problems {
		s.obs.Problem(res, p)
	}
	s.report(ch)
}

// Delete removes the Service with key "namespace/name".
func (s *Store) Delete(key string) {
	s.mu.Lock()
	prev := s.results[key]
	if prev == nil {
		s.mu.Unlock()
		return
	}
	delete(s.results, key)
	s.retrackHosts(key, prev, nil)
	ch := s.table.Delete(key)
	s.mu.Unlock()
	s.report(ch)
}

// Keys returns the keys of every Service the store holds.
func (s *Store) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.results))
	for k := range s.results {
		out = append(out, k)
	}
	return out
}

// HostChanged is called by the resolver when the addresses of host changed;
// every Service using host is applied again.
func (s *Store) HostChanged(host string) {
	s.mu.Lock()
	var changes []table.Change
	for key := range s.hosts[host] {
		changes = append(changes, s.apply(key, s.results[key]))
	}
	s.mu.Unlock()
	for _, ch := range changes {
		s.report(ch)
	}
}

func (s *Store) report(ch table.Change) {
	if s.obs == nil {
		return
	}
	for _, c := range ch.Conflicts {
		s.mu.Lock()
		loser := s.results[c.Loser.Key]
		s.mu.Unlock()
		s.obs.Conflict(loser, c)
	}
	if len(ch.Names) > 0 {
		s.obs.Applied(ch)
	}
}

// apply resolves res into record sets and applies them. s.mu is held.
func (s *Store) apply(key string, res *translate.Result) table.Change {
	sets := make([]table.RecordSet, 0, len(res.Endpoints))
	for _, ep := range res.Endpoints {
		rs := table.RecordSet{
			Name: ep.Name, TTL: ep.TTL, DualStack: ep.DualStack,
			External: s.resolve(ep.External),
			Internal: ep.Internal,
			Aliases:  ep.External.Hostnames,
		}
		sets = append(sets, rs)
	}
	return s.table.Apply(table.Owner{Key: key, Created: res.Created.Unix()}, sets)
}

func (s *Store) resolve(a translate.Addrs) []netip.Addr {
	if len(a.Hostnames) == 0 || s.resolver == nil {
		return a.IPs
	}
	out := append([]netip.Addr(nil), a.IPs...)
	for _, h := range a.Hostnames {
		out = append(out, s.resolver.Addrs(h)...)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// retrackHosts updates which hostnames key depends on. s.mu is held.
func (s *Store) retrackHosts(key string, prev, cur *translate.Result) {
	if s.resolver == nil {
		return
	}
	was, now := hostsOf(prev), hostsOf(cur)
	for h := range now {
		if _, ok := was[h]; ok {
			continue
		}
		if s.hosts[h] == nil {
			s.hosts[h] = map[string]struct{}{}
			s.resolver.Watch(h)
		}
		s.hosts[h][key] = struct{}{}
	}
	for h := range was {
		if _, ok := now[h]; ok {
			continue
		}
		delete(s.hosts[h], key)
		if len(s.hosts[h]) == 0 {
			delete(s.hosts, h)
			s.resolver.Unwatch(h)
		}
	}
}

func hostsOf(r *translate.Result) map[string]struct{} {
	out := map[string]struct{}{}
	if r == nil {
		return out
	}
	for _, ep := range r.Endpoints {
		for _, h := range ep.External.Hostnames {
			out[h] = struct{}{}
		}
	}
	return out
}
