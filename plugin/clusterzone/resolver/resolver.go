// Package resolver resolves load-balancer hostnames (an AWS NLB's, say) into
// their A and AAAA addresses off the serving path, and keeps them fresh by
// the answers' TTL. Lookups never block: callers read the last good answer.
package resolver

import (
	"context"
	"net"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Bounds on the refresh period taken from answer TTLs.
const (
	DefaultMinRefresh = 5 * time.Second
	DefaultMaxRefresh = 10 * time.Minute
	// keepFor is how many refresh periods the last good addresses outlive
	// a failing resolver before they expire.
	keepFor = 3
)

// Resolver keeps the addresses of watched hostnames.
type Resolver struct {
	servers    []string // host:port
	timeout    time.Duration
	minRefresh time.Duration
	maxRefresh time.Duration
	onChange   func(host string)
	onError    func(host string, err error)

	mu      sync.Mutex
	hosts   map[string]*host
	ctx     context.Context
	stop    context.CancelFunc
	started bool
}

type host struct {
	addrs   []netip.Addr
	expires time.Time
	cancel  context.CancelFunc
}

// New returns a resolver asking servers ("host:port"; the port defaults to
// 53). With no servers it reads /etc/resolv.conf. onChange is called, from
// the resolver's own goroutines, whenever a host's addresses change.
func New(servers []string, onChange func(host string)) (*Resolver, error) {
	if len(servers) == 0 {
		cfg, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil, err
		}
		for _, s := range cfg.Servers {
			servers = append(servers, net.JoinHostPort(s, cfg.Port))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Resolver{
		servers: servers, timeout: 2 * time.Second,
		minRefresh: DefaultMinRefresh, maxRefresh: DefaultMaxRefresh,
		onChange: onChange, hosts: map[string]*host{}, ctx: ctx, stop: cancel,
	}, nil
}

// SetOnChange sets the change callback; call it before the first Watch.
func (r *Resolver) SetOnChange(f func(host string)) { r.onChange = f }

// SetOnError sets a callback told about every failed lookup (for metrics and logs).
func (r *Resolver) SetOnError(f func(host string, err error)) { r.onError = f }

// SetRefreshBounds bounds the refresh period taken from answer TTLs.
func (r *Resolver) SetRefreshBounds(min, max time.Duration) { r.minRefresh, r.maxRefresh = min, max }

// Addrs returns the last good addresses of name, nil when unknown or expired.
func (r *Resolver) Addrs(name string) []netip.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hosts[name]
	if h == nil || time.Now().After(h.expires) {
		return nil
	}
	return h.addrs
}

// Watch starts resolving name and keeping it fresh.
func (r *Resolver) Watch(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hosts[name] != nil {
		return
	}
	ctx, cancel := context.WithCancel(r.ctx)
	r.hosts[name] = &host{cancel: cancel}
	go r.loop(ctx, name)
}

// Unwatch stops refreshing name and forgets its addresses.
func (r *Resolver) Unwatch(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h := r.hosts[name]; h != nil {
		h.cancel()
		delete(r.hosts, name)
	}
}

// Stop stops every refresh loop.
func (r *Resolver) Stop() { r.stop() }

func (r *Resolver) loop(ctx context.Context, name string) {
	retry := time.Second
	for {
		addrs, ttl, err := r.lookup(ctx, name)
		if ctx.Err() != nil {
			return
		}
		wait := retry
		if err != nil {
			if r.onError != nil {
				r.onError(name, err)
			}
			if retry < r.minRefresh*4 {
				retry *= 2
			}
			if r.expire(name) && r.onChange != nil {
				r.onChange(name)
			}
		} else {
			retry = time.Second
			wait = clamp(ttl, r.minRefresh, r.maxRefresh)
			if r.store(name, addrs, time.Now().Add(keepFor*wait)) && r.onChange != nil {
				r.onChange(name)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// store saves addrs for name and reports whether they changed.
func (r *Resolver) store(name string, addrs []netip.Addr, expires time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hosts[name]
	if h == nil {
		return false
	}
	changed := !equal(h.addrs, addrs)
	h.addrs, h.expires = addrs, expires
	return changed
}

// expire drops the addresses of name once they are past their expiry, and
// reports whether it did.
func (r *Resolver) expire(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hosts[name]
	if h == nil || h.addrs == nil || time.Now().Before(h.expires) {
		return false
	}
	h.addrs = nil
	return true
}

// lookup asks for A and AAAA of name and returns both families and the
// smallest TTL. A name with neither is an error (keep what we had).
func (r *Resolver) lookup(ctx context.Context, name string) ([]netip.Addr, time.Duration, error) {
	var (
		addrs  []netip.Addr
		minTTL uint32
		errs   []error
	)
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, err := r.query(ctx, name, qt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, rr := range rrs {
			var ip netip.Addr
			switch v := rr.(type) {
			case *dns.A:
				ip, _ = netip.AddrFromSlice(v.A.To4())
			case *dns.AAAA:
				ip, _ = netip.AddrFromSlice(v.AAAA.To16())
			default:
				continue
			}
			addrs = append(addrs, ip)
			if minTTL == 0 || rr.Header().Ttl < minTTL {
				minTTL = rr.Header().Ttl
			}
		}
	}
	if len(errs) == 2 {
		return nil, 0, errs[0]
	}
	if len(addrs) == 0 && len(errs) > 0 {
		return nil, 0, errs[0]
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	return addrs, time.Duration(minTTL) * time.Second, nil
}

// query asks each server in turn until one answers.
func (r *Resolver) query(ctx context.Context, name string, qt uint16) ([]dns.RR, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qt)
	m.RecursionDesired = true
	c := &dns.Client{Timeout: r.timeout}
	var lastErr error
	for _, s := range r.servers {
		in, _, err := c.ExchangeContext(ctx, m, s)
		if err == nil && in.Truncated {
			tc := &dns.Client{Net: "tcp", Timeout: r.timeout}
			in, _, err = tc.ExchangeContext(ctx, m, s)
		}
		if err != nil {
			lastErr = err
			continue
		}
		if in.Rcode != dns.RcodeSuccess {
			lastErr = &RcodeError{Name: name, Rcode: in.Rcode}
			continue
		}
		return in.Answer, nil
	}
	return nil, lastErr
}

// RcodeError is a lookup answered with an error rcode.
type RcodeError struct {
	Name  string
	Rcode int
}

func (e *RcodeError) Error() string { return e.Name + ": " + dns.RcodeToString[e.Rcode] }

func clamp(d, lo, hi time.Duration) time.Duration {
	if d < lo {
		return lo
	}
	if d > hi {
		return hi
	}
	return d
}

func equal(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
