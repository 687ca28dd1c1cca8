package route53

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// candidates runs leader-election candidates that record who runs.
type candidates struct {
	t       *testing.T
	mu      sync.Mutex
	running map[string]context.Context
	started chan string
	stopped chan string
}

func newCandidates(t *testing.T) *candidates {
	return &candidates{t: t, running: map[string]context.Context{}, started: make(chan string, 16), stopped: make(chan string, 16)}
}

func (c *candidates) run(id string) func(ctx context.Context) {
	return func(ctx context.Context) {
		c.mu.Lock()
		c.running[id] = ctx
		if len(c.running) > 1 {
			c.t.Errorf("%s started while another candidate still runs: %v", id, c.running)
		}
		c.mu.Unlock()
		c.started <- id
		<-ctx.Done()
		c.mu.Lock()
		delete(c.running, id)
		c.mu.Unlock()
		c.stopped <- id
	}
}

// start runs a candidate until its context is cancelled; the returned
// channel closes when RunLeaderElected returns.
func (c *candidates) start(client *fake.Clientset, id string) (context.CancelFunc, <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		RunLeaderElected(ctx, client, "dns", "cz-route53", id, c.run(id))
	}()
	c.t.Cleanup(func() { cancel(); <-done })
	return cancel, done
}

func wait[T any](t *testing.T, ch <-chan T, timeout time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(timeout):
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
	var zero T
	return zero
}

func holder(t *testing.T, client *fake.Clientset) string {
	t.Helper()
	l, err := client.CoordinationV1().Leases("dns").Get(context.Background(), "cz-route53", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func TestRunLeaderElectedHandsOver(t *testing.T) {
	client := fake.NewClientset()
	c := newCandidates(t)
	cancelA, doneA := c.start(client, "a")
	cancelB, doneB := c.start(client, "b")
	cancels := map[string]context.CancelFunc{"a": cancelA, "b": cancelB}
	dones := map[string]<-chan struct{}{"a": doneA, "b": doneB}

	first := wait(t, c.started, 30*time.Second, "a leader")
	if h := holder(t, client); h != first {
		t.Errorf("lease holder %q, running %q", h, first)
	}
	if v := metricValue(leaderGauge); v != 1 {
		t.Errorf("leader gauge %v while %s leads", v, first)
	}
	second := map[string]string{"a": "b", "b": "a"}[first]

	// The leader stops: its run ends, and the other takes over quickly
	// because the lease is released.
	stoppedAt := time.Now()
	cancels[first]()
	if got := wait(t, c.stopped, 10*time.Second, "the leader's run to end"); got != first {
		t.Errorf("%s stopped, want %s", got, first)
	}
	wait(t, dones[first], 10*time.Second, "RunLeaderElected of the old leader to return")
	if got := wait(t, c.started, 15*time.Second, "the other candidate to take over"); got != second {
		t.Errorf("%s took over, want %s", got, second)
	}
	t.Logf("%s took over %s after %s stopped", second, time.Since(stoppedAt).Round(time.Millisecond), first)
	if h := holder(t, client); h != second {
		t.Errorf("lease holder %q, want %q", h, second)
	}
	if v := metricValue(leaderGauge); v != 1 {
		t.Errorf("leader gauge %v while %s leads", v, second)
	}
	cancels[second]()
	wait(t, dones[second], 10*time.Second, "RunLeaderElected to return")
	if v := metricValue(leaderGauge); v != 0 {
		t.Errorf("leader gauge %v with no leader", v)
	}
}

// TestRunLeaderElectedLosesLease cuts the leader off from the API server: it
// must stop running before the other candidate starts, and campaign again
// once it is back.
func TestRunLeaderElectedLosesLease(t *testing.T) {
	store := fake.NewClientset()
	var partitioned atomic.Bool
	shared := func(cut *atomic.Bool) *fake.Clientset {
		c := fake.NewClientset()
		c.PrependReactor("*", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
			if cut != nil && cut.Load() {
				return true, nil, errors.New("connection refused")
			}
			return k8stesting.ObjectReaction(store.Tracker())(action)
		})
		return c
	}
	clientA, clientB := shared(&partitioned), shared(nil)
	c := newCandidates(t)
	c.start(clientA, "a")
	if got := wait(t, c.started, 30*time.Second, "a to lead"); got != "a" {
		t.Fatalf("%s leads, want a (b not started yet)", got)
	}
	cancelB, doneB := c.start(clientB, "b")

	cut := time.Now()
	partitioned.Store(true)
	if got := wait(t, c.stopped, 20*time.Second, "a to stop after losing the API server"); got != "a" {
		t.Fatalf("%s stopped, want a", got)
	}
	t.Logf("a stopped %s after losing the API server", time.Since(cut).Round(time.Millisecond))
	if got := wait(t, c.started, 30*time.Second, "b to take over"); got != "b" {
		t.Fatalf("%s took over, want b", got)
	}
	t.Logf("b took over %s after the cut", time.Since(cut).Round(time.Millisecond))

	// a campaigns again: when b goes away, a leads again.
	partitioned.Store(false)
	time.Sleep(3 * time.Second) // a observes b's lease
	cancelB()
	wait(t, doneB, 10*time.Second, "b to return")
	if got := wait(t, c.stopped, 10*time.Second, "b's run to end"); got != "b" {
		t.Fatalf("%s stopped, want b", got)
	}
	if got := wait(t, c.started, 30*time.Second, "a to lead again"); got != "a" {
		t.Fatalf("%s leads, want a", got)
	}
}
