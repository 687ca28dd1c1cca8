package harness

import "testing"

// KillEtcd stops etcd with SIGKILL (no graceful shutdown: kube-apiserver's
// connections to it are reset), to simulate an etcd crash. kube-apiserver
// keeps running: it answers from its watch cache where it can, fails other
// requests, and reconnects by itself once StartEtcd brings etcd back. The
// data folder is kept, so nothing written before the kill is lost (etcd runs
// with --unsafe-no-fsync, which only matters for a power cut, not a killed
// process).
func (c *Cluster) KillEtcd(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	p := c.etcd
	c.mu.Unlock()
	p.kill()
}

// StopEtcd stops etcd gracefully (SIGTERM, then SIGKILL after a grace
// period). Restart it with StartEtcd.
func (c *Cluster) StopEtcd(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	p := c.etcd
	c.mu.Unlock()
	p.stop(stopGrace)
}

// StartEtcd starts etcd again after KillEtcd or StopEtcd, with the same
// binary, arguments, data folder and ports (client URL EtcdURL, the same peer
// URL; the --initial-cluster flags are ignored by etcd once the data folder
// holds a member), appending to EtcdLog, and waits until its /health is
// good. It fails the test if etcd is already running or does not come up.
//
// It does not wait for kube-apiserver to be usable again: its etcd client
// reconnects with its own backoff, so poll an API call (e.g. with Eventually)
// before relying on writes.
func (c *Cluster) StartEtcd(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	old := c.etcd
	if old == nil {
		c.mu.Unlock()
		t.Fatalf("harness: StartEtcd: etcd was never started (use StartCluster)")
	}
	if done, _ := old.exited(); !done {
		c.mu.Unlock()
		t.Fatalf("harness: StartEtcd: etcd is already running")
	}
	bin, args := old.cmd.Path, append([]string(nil), old.cmd.Args[1:]...)
	p, err := startProc("etcd", c.EtcdLog, c.Dir, bin, args, nil, nil)
	if err != nil {
		c.mu.Unlock()
		t.Fatalf("harness: %v", err)
	}
	c.etcd = p
	c.mu.Unlock()
	if err := c.waitEtcd(); err != nil {
		t.Fatalf("harness: etcd did not become healthy after a restart: %v\netcd log:\n%s", err, tailFile(c.EtcdLog, 40))
	}
}

// EtcdRunning reports whether the etcd process is running.
func (c *Cluster) EtcdRunning() bool {
	c.mu.Lock()
	p := c.etcd
	c.mu.Unlock()
	if p == nil {
		return false
	}
	done, _ := p.exited()
	return !done
}
