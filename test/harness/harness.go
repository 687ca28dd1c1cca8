// Package harness starts real components for end-to-end tests: etcd and
// kube-apiserver (built by hack/testbins.sh into .cache/bin), the custom
// CoreDNS binary (built by `make build` into the repository root), and DNS
// clients (miekg/dns and the `dig` binary).
//
// Everything listens on loopback only (127.0.0.1). Every process is stopped by
// t.Cleanup (SIGTERM, then SIGKILL after a grace period) and, on Linux, also
// dies with the test binary (PR_SET_PDEATHSIG), so a test that panics or times
// out does not leave servers behind. Missing binaries are a test failure with
// a message that says how to build them, never a skip.
//
// A typical end-to-end test:
//
//	c := harness.StartCluster(t) // etcd + kube-apiserver, RBAC from deploy/rbac.yaml
//	port := harness.FreePort(t)
//	dns := harness.StartCoreDNS(t, fmt.Sprintf(`.:%d {
//	    clusterzone example.org {
//	        kubeconfig %s
//	    }
//	}`, port, c.Kubeconfig))
//	_, err := c.Admin.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
//	harness.Eventually(t, 5*time.Second, func() error {
//	    r := harness.Query(t, dns.Addr, "www.example.org", mdns.TypeAAAA, "udp")
//	    ...
//	})
//
// (The clusterzone directive's syntax above is illustrative; see the plugin's
// README.)
package harness

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ModulePath is the module path of the repository; Root looks for the go.mod
// that declares it.
const ModulePath = "github.com/clusterzone/clusterzone"

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error
)

// Root returns the repository root: the nearest directory, walking up from
// the working directory (for `go test`, the package directory) and then from
// this source file, whose go.mod declares ModulePath. It panics if there is
// none, which only happens when the harness is used outside this repository.
func Root() string {
	rootOnce.Do(func() {
		var starts []string
		if wd, err := os.Getwd(); err == nil {
			starts = append(starts, wd)
		}
		if _, file, _, ok := runtime.Caller(0); ok {
			starts = append(starts, filepath.Dir(file))
		}
		for _, s := range starts {
			if d, ok := findModuleRoot(s); ok {
				rootDir = d
				return
			}
		}
		rootErr = fmt.Errorf("harness: no go.mod declaring module %s above %v", ModulePath, starts)
	})
	if rootErr != nil {
		panic(rootErr)
	}
	return rootDir
}

func findModuleRoot(dir string) (string, bool) {
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				f := strings.Fields(line)
				if len(f) >= 2 && f[0] == "module" && strings.Trim(f[1], `"`) == ModulePath {
					return dir, true
				}
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// CacheDir returns the cache folder of the test binaries: $CLUSTERZONE_CACHE
// when set, else <root>/.cache (the same rule as hack/testbins.sh).
func CacheDir() string {
	if d := os.Getenv("CLUSTERZONE_CACHE"); d != "" {
		if abs, err := filepath.Abs(d); err == nil {
			return abs
		}
		return d
	}
	return filepath.Join(Root(), ".cache")
}

// BinDir returns the folder that holds etcd and kube-apiserver:
// $CLUSTERZONE_CACHE/bin when CLUSTERZONE_CACHE is set, else <root>/.cache/bin.
func BinDir() string { return filepath.Join(CacheDir(), "bin") }

var (
	portMu   sync.Mutex
	portsOut = map[int]bool{}
)

// FreePort returns a port on which both TCP and UDP are free on 127.0.0.1
// right now. It never returns the same port twice within one test binary, so
// ports of stopped processes (e.g. an API server being restarted on its old
// port) are not handed to someone else. Ports are picked below the kernel's
// ephemeral range where possible, so that outgoing connections do not take a
// port that a restarted process wants back.
func FreePort(t testing.TB) int {
	t.Helper()
	portMu.Lock()
	defer portMu.Unlock()
	lo, hi := 20000, ephemeralLow()
	if hi-lo < 1000 {
		lo, hi = 0, 0
	}
	var lastErr error
	for i := 0; i < 200; i++ {
		want := 0
		if hi > lo {
			want = lo + rand.IntN(hi-lo)
		}
		p, err := tryPort(want)
		if err != nil {
			lastErr = err
			continue
		}
		if portsOut[p] {
			continue
		}
		portsOut[p] = true
		return p
	}
	t.Fatalf("harness: no free TCP+UDP port on 127.0.0.1: %v", lastErr)
	return 0
}

// ephemeralLow returns the first port of the kernel's ephemeral range (Linux),
// or 32768.
func ephemeralLow() int {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(data)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				return n
			}
		}
	}
	return 32768
}

func tryPort(port int) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	p := l.Addr().(*net.TCPAddr).Port
	u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return 0, err
	}
	u.Close()
	return p, nil
}

// Eventually calls f every 50ms until it returns nil; after timeout it fails
// the test (t.Fatalf) with f's last error. f is called at least once.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	if err := poll(timeout, f); err != nil {
		t.Fatalf("harness: not true within %v: %v", timeout, err)
	}
}

// WaitFor is Eventually for a condition: it polls cond until it holds, and
// fails the test naming what it waited for when timeout passes first.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	Eventually(t, timeout, func() error {
		if cond() {
			return nil
		}
		return fmt.Errorf("still waiting for %s", what)
	})
}

// poll is Eventually returning the error instead of failing the test.
func poll(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		var stop stopPolling
		if errors.As(err, &stop) {
			return stop.err
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stopPolling ends poll early with err (e.g. when the process we wait for has
// exited).
type stopPolling struct{ err error }

func (s stopPolling) Error() string { return s.err.Error() }

// proc is one child process with its output going to a log file (and
// optionally to an extra writer).
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
}

// startProc starts bin with args, appending its stdout and stderr to logPath
// (and to extra when not nil).
func startProc(name, logPath, dir, bin string, args, env []string, extra io.Writer) (*proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(f, "=== harness: %s started at %s: %s %s\n", name, time.Now().Format(time.RFC3339Nano), bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out io.Writer = f
	if extra != nil {
		out = io.MultiWriter(f, extra)
	}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = 5 * time.Second
	DieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		fmt.Fprintf(f, "=== harness: %s exited at %s: %v\n", name, time.Now().Format(time.RFC3339Nano), describeExit(p.waitErr))
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func describeExit(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// exited reports whether the process has ended, and how.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.waitErr
	default:
		return false, nil
	}
}

// stop sends SIGTERM, waits up to grace, then SIGKILLs. It is idempotent.
func (p *proc) stop(grace time.Duration) {
	if p == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// kill sends SIGKILL and waits for the process to end.
func (p *proc) kill() {
	if p == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// tailFile returns the last n lines of a file (or a note why it cannot).
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 4*n {
			lines = append(lines[:0], lines[len(lines)-n:]...)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// syncBuffer is a goroutine-safe bytes buffer for process output.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.b = append(s.b, p...)
	s.mu.Unlock()
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}
