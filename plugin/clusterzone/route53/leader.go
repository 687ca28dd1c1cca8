package route53

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Leader-election timing, as Kubernetes' own controllers use it: a leader
// that cannot renew within renewDeadline stops writing, well before the
// lease (leaseDuration) can be taken by another replica.
const (
	leaseDuration = 15 * time.Second
	renewDeadline = 10 * time.Second
	retryPeriod   = 2 * time.Second
)

// RunLeaderElected campaigns for the coordination.k8s.io Lease
// namespace/name as identity and calls run while it holds it. The ctx given
// to run is cancelled the moment leadership is lost (and run's return is
// awaited before campaigning again), so a former leader stops writing at
// once. It campaigns again after losing, and returns when ctx is cancelled,
// releasing the lease so that another replica takes over without waiting
// for it to expire.
func RunLeaderElected(ctx context.Context, client kubernetes.Interface, namespace, name, identity string, run func(ctx context.Context)) {
	runLeaderElected(ctx, client, namespace, name, identity, run, leaseDuration, renewDeadline, retryPeriod)
}

func runLeaderElected(ctx context.Context, client kubernetes.Interface, namespace, name, identity string, run func(ctx context.Context), lease, renew, retry time.Duration) {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: namespace, Name: name},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
	}
	for ctx.Err() == nil {
		// One campaign: wins (maybe), leads until the lease is lost or ctx
		// is cancelled.
		ectx, cancel := context.WithCancel(ctx)
		leading := make(chan context.Context, 1)
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   lease,
			RenewDeadline:   renew,
			RetryPeriod:     retry,
			ReleaseOnCancel: true,
			Name:            namespace + "/" + name,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(lctx context.Context) { leading <- lctx },
				OnStoppedLeading: func() {},
				OnNewLeader: func(id string) {
					if id != identity {
						log.Infof("Route 53 mirror leader is %s", id)
					}
				},
			},
		})
		if err != nil {
			cancel()
			log.Errorf("Route 53 leader election: %v", err)
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			le.Run(ectx)
		}()

		select {
		case lctx := <-leading:
			log.Infof("Route 53 mirror: %s became leader of lease %s/%s", identity, namespace, name)
			leaderGauge.Set(1)
			rctx, rcancel := context.WithCancel(lctx)
			go watchLease(rctx, rcancel, le, identity, lease, renew, retry)
			run(rctx)
			rcancel()
			leaderGauge.Set(0)
			if ctx.Err() == nil {
				log.Warningf("Route 53 mirror: %s lost the lease %s/%s; campaigning again", identity, namespace, name)
			}
			// If run returned on its own, give the lease up.
			cancel()
			<-done
		case <-done:
			cancel()
		}
	}
}

// watchLease cancels the leader's run as soon as the lease is not ours any
// more or has not been renewed for renew: client-go cancels its own context
// only after trying to release the lease, which may take another renew
// deadline when the API server is unreachable, while other replicas may
// already take the lease over.
func watchLease(ctx context.Context, cancel context.CancelFunc, le *leaderelection.LeaderElector, identity string, lease, renew, retry time.Duration) {
	t := time.NewTicker(max(retry/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !le.IsLeader() || le.Check(renew-lease) != nil {
				log.Warningf("Route 53 mirror: %s is no longer sure to hold the lease; stopping writes", identity)
				cancel()
				return
			}
		}
	}
}
