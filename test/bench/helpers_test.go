package bench

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/miekg/dns"
)

// server is a ./coredns process (harness.StartCoreDNS) started by
// startServer, with its Corefile's prometheus and pprof listeners.
type server struct {
	name    string
	Addr    string // DNS, 127.0.0.1:PORT
	metrics string // http://127.0.0.1:PORT/metrics ("" for startBare)
	pprof   string // http://127.0.0.1:PORT ("" for startBare)
	started time.Time
	// syncTook is set by waitSynced: process start to fully loaded.
	syncTook time.Duration

	cd *harness.CoreDNS
}

// startServer runs the built ./coredns with one server block for zone on a
// fresh loopback port, holding the given plugin lines, plus `prometheus` and
// `pprof` on their own loopback ports. It waits until the DNS port answers
// and stops the process in b.Cleanup. env is added to the environment
// ("KEY=value").
func startServer(b *testing.B, name, zone, plugins string, env ...string) *server {
	b.Helper()
	return launchServer(b, name, zone, plugins, true, env...)
}

// startBare is startServer without prometheus and pprof: the server block
// holds only `bind` and the given plugin lines, so that a throughput
// benchmark measures the plugin and CoreDNS, not the metrics.
func startBare(b *testing.B, name, zone, plugins string) *server {
	b.Helper()
	return launchServer(b, name, zone, plugins, false)
}

func launchServer(b *testing.B, name, zone, plugins string, observe bool, env ...string) *server {
	b.Helper()
	s := &server{name: name}
	extra := ""
	if observe {
		promPort, pprofPort := harness.FreePort(b), harness.FreePort(b)
		s.metrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort)
		s.pprof = fmt.Sprintf("http://127.0.0.1:%d", pprofPort)
		extra = fmt.Sprintf("    prometheus 127.0.0.1:%d\n    pprof 127.0.0.1:%d\n", promPort, pprofPort)
	}
	corefile := fmt.Sprintf("%s:%d {\n    bind 127.0.0.1\n%s\n%s}\n", zone, harness.FreePort(b), plugins, extra)
	s.started = time.Now()
	s.cd = harness.StartCoreDNS(b, corefile, env...)
	s.Addr = s.cd.Addr
	return s
}

// scrape returns the process's /metrics text.
func (s *server) scrape() (string, error) {
	return httpGet(s.metrics)
}

// metric returns the sum of a metric's samples (no label filter).
func (s *server) metric(name string) (float64, error) {
	text, err := s.scrape()
	if err != nil {
		return 0, err
	}
	v, ok := harness.SumMetric(text, name, nil)
	if !ok {
		return 0, fmt.Errorf("%s: no metric %s", s.name, name)
	}
	return v, nil
}

// forceGC makes the process run a full garbage collection:
// net/http/pprof's heap handler calls runtime.GC() first when gc=1.
func (s *server) forceGC() error {
	_, err := httpGet(s.pprof + "/debug/pprof/heap?gc=1")
	return err
}

// saveHeapProfile writes the process's heap profile (pprof format) to path.
func (s *server) saveHeapProfile(path string) error {
	data, err := httpGet(s.pprof + "/debug/pprof/heap")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(data), 0o644)
}

// procStatus returns a field of /proc/PID/status in bytes (VmRSS, VmHWM).
func (s *server) procStatus(field string) (float64, error) {
	return procStatusOf(s.cd.Pid(), field)
}

// procStatusOf returns a field of /proc/pid/status in bytes (VmRSS, VmHWM).
func procStatusOf(pid int, field string) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != field {
			continue
		}
		fs := strings.Fields(v) // "123456 kB"
		if len(fs) != 2 || fs[1] != "kB" {
			return 0, fmt.Errorf("%s: %q", field, v)
		}
		n, err := strconv.ParseFloat(fs[0], 64)
		return n * 1024, err
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

func httpGet(url string) (string, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(body), nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// poller sends queries back to back over one UDP socket, to see a change as
// soon as it is served.
type poller struct {
	c    *dns.Client
	conn *dns.Conn
}

func newPoller(b *testing.B, addr string) *poller {
	b.Helper()
	c := &dns.Client{Net: "udp", Timeout: time.Second}
	conn, err := c.Dial(addr)
	if err != nil {
		b.Fatalf("bench: dial %s: %v", addr, err)
	}
	b.Cleanup(func() { conn.Close() })
	return &poller{c: c, conn: conn}
}

// answers returns the reply's answer RRs as "TYPE rdata", sorted.
func answers(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		h := rr.Header()
		out = append(out, dns.TypeToString[h.Rrtype]+" "+strings.TrimPrefix(rr.String(), h.String()))
	}
	slices.Sort(out)
	return out
}

// waitFor queries name/qtype every interval until the answer is exactly want
// ("TYPE rdata", sorted) and returns when the reply arrived and how many
// queries it took.
func (p *poller) waitFor(name string, qtype uint16, want []string, interval, timeout time.Duration) (time.Time, int, error) {
	deadline := time.Now().Add(timeout)
	n := 0
	var last []string
	var lastErr error
	for {
		m := new(dns.Msg).SetQuestion(name, qtype)
		r, _, err := p.c.ExchangeWithConn(m, p.conn)
		now := time.Now()
		n++
		if err == nil {
			last = answers(r)
			if slices.Equal(last, want) {
				return now, n, nil
			}
		}
		lastErr = err
		if now.After(deadline) {
			return now, n, fmt.Errorf("%s %s: answer %v (err %v) after %v, want %v", name, dns.TypeToString[qtype], last, lastErr, timeout, want)
		}
		if interval > 0 {
			time.Sleep(interval)
		}
	}
}

// percentile returns the nearest-rank percentile q (0..100] of sorted d.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q/100+0.999999) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mb(bytes float64) float64 { return bytes / (1 << 20) }

// propagationSummary is the distribution of the samples of contender whose
// kind is one of kinds, labelled kind.
func propagationSummary(samples []propSample, contender, kind string, kinds ...string) propSummary {
	var lat, wr []time.Duration
	polls := 0
	for _, s := range samples {
		if s.contender == contender && slices.Contains(kinds, s.kind) {
			lat, wr = append(lat, s.lat), append(wr, s.write)
			polls += s.polls
		}
	}
	slices.Sort(lat)
	slices.Sort(wr)
	out := propSummary{Contender: contender, Kind: kind, N: len(lat),
		P50: ms(percentile(lat, 50)), P90: ms(percentile(lat, 90)), P99: ms(percentile(lat, 99)), Max: ms(percentile(lat, 100)),
		APIWriteP50: ms(percentile(wr, 50))}
	if len(lat) > 0 && polls > 0 {
		out.PollsPerUpdateMean = float64(polls) / float64(len(lat))
	}
	for _, d := range lat {
		out.LatenciesMs = append(out.LatenciesMs, roundTo(ms(d), 4))
	}
	return out
}
