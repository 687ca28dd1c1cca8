package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const (
	// CoreDNSEnv names an environment variable that, when set, is the path of
	// the CoreDNS binary StartCoreDNS runs instead of <root>/coredns (for
	// example a standard CoreDNS build, or a build made elsewhere).
	CoreDNSEnv = "CLUSTERZONE_COREDNS"

	corednsStartTimeout = 60 * time.Second
	corednsStopGrace    = 10 * time.Second
)

// CoreDNSBinary returns the CoreDNS binary to run: $CLUSTERZONE_COREDNS when
// set, else <root>/coredns (built by `make build`). It fails the test when
// that file does not exist.
func CoreDNSBinary(t testing.TB) string {
	t.Helper()
	p := os.Getenv(CoreDNSEnv)
	from := "$" + CoreDNSEnv
	if p == "" {
		p = filepath.Join(Root(), "coredns")
		from = "the repository root"
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	st, err := os.Stat(p)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		t.Fatalf("harness: CoreDNS binary not found at %s (from %s; %v): run `make build` in %s "+
			"(or set %s to a CoreDNS binary)", p, from, err, Root(), CoreDNSEnv)
	}
	return p
}

// CoreDNS is a CoreDNS process started by StartCoreDNS.
type CoreDNS struct {
	// Addr is "127.0.0.1:PORT", the DNS address (UDP and TCP) of the first
	// server block of the Corefile.
	Addr string
	// Port is the port of Addr.
	Port int
	// Corefile is the Corefile the process runs, after StartCoreDNS added its
	// `bind` lines (see StartCoreDNS).
	Corefile string
	// CorefilePath is where that Corefile was written.
	CorefilePath string
	// Dir is the process's temporary working folder.
	Dir string
	// LogPath is the file that holds everything the process printed.
	LogPath string

	proc *proc
	out  *syncBuffer
}

// StartCoreDNS writes corefile to a temporary folder and runs
// `CoreDNSBinary() -conf FILE` there (working directory: that folder), with
// the test's environment plus env ("KEY=value" entries). It waits until the
// DNS port answers a query over UDP (any response counts, SERVFAIL and REFUSED
// included) and fails the test with the process output if the process exits
// first. The process is stopped by t.Cleanup; if the test failed, its output
// is printed with t.Log.
//
// The port is taken from the first key of the first server block, which must
// name it explicitly (".:1053", "example.org:1053", "dns://.:1053"); put one
// from FreePort there, e.g. fmt.Sprintf(".:%d {\n whoami\n}\n", FreePort(t)).
// Other server blocks may use other ports; Addr is the first block's.
//
// Loopback only: when the Corefile has no `bind` directive anywhere,
// StartCoreDNS adds `bind 127.0.0.1` at the top of every server block, so
// nothing listens on other addresses. A Corefile that has a `bind` line is run
// as written (then it should bind 127.0.0.1 itself, or Addr will not answer).
func StartCoreDNS(t testing.TB, corefile string, env ...string) *CoreDNS {
	t.Helper()
	bin := CoreDNSBinary(t)
	port, err := CorefilePort(corefile)
	if err != nil {
		t.Fatalf("harness: StartCoreDNS: %v\nCorefile:\n%s", err, corefile)
	}
	dir := t.TempDir()
	c := &CoreDNS{
		Addr:         net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Port:         port,
		Corefile:     loopbackCorefile(corefile),
		CorefilePath: filepath.Join(dir, "Corefile"),
		Dir:          dir,
		LogPath:      filepath.Join(dir, "coredns.log"),
		out:          &syncBuffer{},
	}
	if err := os.WriteFile(c.CorefilePath, []byte(c.Corefile), 0o644); err != nil {
		t.Fatalf("harness: %v", err)
	}
	c.proc, err = startProc("coredns", c.LogPath, dir, bin, []string{"-conf", c.CorefilePath}, env, c.out)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Cleanup(func() {
		c.proc.stop(corednsStopGrace)
		if t.Failed() {
			t.Logf("harness: CoreDNS on %s, Corefile:\n%s\nCoreDNS output:\n%s", c.Addr, c.Corefile, c.Log())
		}
	})

	// The probe is answered by the first server block's plugin chain (or
	// REFUSED by CoreDNS when its name is outside the block's zones); a chain
	// that needs more than a second to answer (e.g. forwarding to an
	// unreachable upstream) will not count as up.
	cl := &dns.Client{Net: "udp", Timeout: time.Second}
	m := new(dns.Msg)
	m.SetQuestion("harness-probe.invalid.", dns.TypeA)
	err = poll(corednsStartTimeout, func() error {
		if done, err := c.proc.exited(); done {
			return stopPolling{fmt.Errorf("coredns exited: %v", describeExit(err))}
		}
		_, _, err := cl.Exchange(m.Copy(), c.Addr)
		return err
	})
	if err != nil {
		t.Fatalf("harness: CoreDNS did not answer on %s: %v\nCorefile:\n%s\nCoreDNS output:\n%s", c.Addr, err, c.Corefile, c.Log())
	}
	return c
}

// Log returns everything the process printed (stdout and stderr) so far.
func (c *CoreDNS) Log() string { return c.out.String() }

// Stop stops the process now: SIGTERM, then SIGKILL after 10 seconds (a
// `health { lameduck D }` delays a graceful exit by D). It is safe to call
// more than once, and the t.Cleanup that StartCoreDNS registered stays
// harmless.
func (c *CoreDNS) Stop(t testing.TB) {
	t.Helper()
	c.proc.stop(corednsStopGrace)
}

// Kill stops the process with SIGKILL: no shutdown hooks run (for example a
// leader does not release its lease).
func (c *CoreDNS) Kill(t testing.TB) {
	t.Helper()
	c.proc.kill()
}

// Pid returns the process id (for /proc/PID/status).
func (c *CoreDNS) Pid() int { return c.proc.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (c *CoreDNS) Exited() bool {
	done, _ := c.proc.exited()
	return done
}

// CorefilePort returns the port of the first key of the first server block of
// a Corefile (snippets and top-level imports are skipped). It is an error
// when that key has no explicit port.
func CorefilePort(corefile string) (int, error) {
	blocks := serverBlocks(corefile)
	if len(blocks) == 0 {
		return 0, errors.New("no server block in the Corefile")
	}
	keys := blocks[0].keys
	if len(keys) == 0 {
		return 0, errors.New("the first server block has no key")
	}
	key := keys[0]
	if i := strings.Index(key, "://"); i >= 0 {
		key = key[i+3:]
	}
	i := strings.LastIndex(key, ":")
	if i < 0 {
		return 0, fmt.Errorf("first server block key %q has no port: write it as %s:PORT with a port from harness.FreePort", keys[0], key)
	}
	port, err := strconv.Atoi(key[i+1:])
	if err != nil || port <= 0 || port > 65535 {
		return 0, fmt.Errorf("first server block key %q: bad port %q", keys[0], key[i+1:])
	}
	return port, nil
}

// serverBlock is a top-level block of a Corefile that is not a snippet.
type serverBlock struct {
	keys []string
	open int // offset of its "{" in the Corefile
}

// serverBlocks scans a Corefile (Caddyfile syntax: "#" comments, quoted
// strings, "{" and "}" as whitespace-separated tokens) for server blocks.
func serverBlocks(s string) []serverBlock {
	var blocks []serverBlock
	depth := 0
	var keys []string // top-level tokens since the last block
	lineStart := true // the current token is the first on its line
	skipLine := false // a top-level "import" line
	snippet := false  // the current top-level block is a snippet
	i := 0
	for i < len(s) {
		ch := s[i]
		switch {
		case ch == '\n':
			lineStart, skipLine = true, false
			i++
			continue
		case ch == ' ' || ch == '\t' || ch == '\r':
			i++
			continue
		case ch == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
			continue
		}
		// a token
		start := i
		if ch == '"' {
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' {
					i++
				}
				i++
			}
			i++
		} else {
			for i < len(s) && !strings.ContainsRune(" \t\r\n", rune(s[i])) {
				i++
			}
		}
		if i > len(s) {
			i = len(s)
		}
		tok := s[start:i]
		first := lineStart
		lineStart = false
		switch tok {
		case "{":
			if depth == 0 {
				snippet = len(keys) > 0 && strings.HasPrefix(keys[0], "(")
				if !snippet {
					blocks = append(blocks, serverBlock{keys: keys, open: start})
				}
				keys = nil
			}
			depth++
			continue
		case "}":
			if depth > 0 {
				depth--
			}
			continue
		}
		if depth != 0 {
			continue
		}
		if first && tok == "import" {
			skipLine = true
		}
		if skipLine {
			continue
		}
		keys = append(keys, strings.Trim(tok, `"`))
	}
	return blocks
}

// hasBind reports whether any line of the Corefile starts with the bind
// directive.
func hasBind(corefile string) bool {
	for _, line := range strings.Split(corefile, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == "bind" {
			return true
		}
	}
	return false
}

// loopbackCorefile adds "bind 127.0.0.1" to every server block when the
// Corefile has no bind directive of its own.
func loopbackCorefile(corefile string) string {
	if hasBind(corefile) {
		return corefile
	}
	blocks := serverBlocks(corefile)
	var b strings.Builder
	last := 0
	for _, blk := range blocks {
		b.WriteString(corefile[last : blk.open+1])
		b.WriteString("\n    bind 127.0.0.1 # added by the test harness: loopback only\n")
		last = blk.open + 1
	}
	b.WriteString(corefile[last:])
	return b.String()
}

// Query sends one query for name (made fully qualified) and qtype to addr
// over proto ("udp" or "tcp") with the miekg/dns client, recursion desired
// set, no EDNS, and returns the reply. A transport error (timeout, refused
// connection, truncated or malformed reply) fails the test.
func Query(t testing.TB, addr, name string, qtype uint16, proto string) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	return Exchange(t, addr, m, proto)
}

// Exchange sends m to addr over proto ("udp" or "tcp") and returns the reply;
// a transport error fails the test. Use it for queries Query cannot build
// (EDNS, DO bit, other classes).
func Exchange(t testing.TB, addr string, m *dns.Msg, proto string) *dns.Msg {
	t.Helper()
	r, err := exchange(addr, m, proto)
	if err != nil {
		t.Fatalf("harness: DNS %s query %s %s to %s: %v", proto, m.Question[0].Name, dns.TypeToString[m.Question[0].Qtype], addr, err)
	}
	return r
}

func exchange(addr string, m *dns.Msg, proto string) (*dns.Msg, error) {
	if proto != "udp" && proto != "tcp" {
		return nil, fmt.Errorf("proto %q: want udp or tcp", proto)
	}
	c := &dns.Client{Net: proto, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, addr)
	return r, err
}

// Dig runs the `dig` binary (Debian bind9-dnsutils) with args and returns its
// standard output. Pass the server and port yourself, e.g.
// Dig(t, "@127.0.0.1", "-p", strconv.Itoa(c.Port), "www.example.org", "AAAA", "+short").
// A missing dig, or dig exiting non-zero (e.g. 9: no reply), fails the test.
func Dig(t testing.TB, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("dig")
	if err != nil {
		t.Fatalf("harness: dig not found (%v): install bind9-dnsutils (apt-get install -y bind9-dnsutils)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("harness: dig %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}
