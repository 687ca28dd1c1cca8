package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/clusterzone/clusterzone/test/harness"
)

// dnsperfRun is what one dnsperf run reports.
type dnsperfRun struct {
	Sent, Completed, Lost int
	QPS                   float64
	RunTime               float64        // seconds
	AvgLatency            float64        // seconds
	Rcodes                map[string]int `json:",omitempty"`
	// Latencies (seconds) of every completed query, with -v only.
	Latencies []float64 `json:"-"`
	Command   string
}

// dnsperfBinary returns the path of dnsperf or fails with a hint.
func dnsperfBinary(b *testing.B) string {
	b.Helper()
	p, err := exec.LookPath("dnsperf")
	if err != nil {
		b.Fatalf("bench: dnsperf not found (%v): run `make deps` or hack/deps.sh (Debian package dnsperf)", err)
	}
	return p
}

// dnsperfOpts are the load parameters.
type dnsperfOpts struct {
	seconds     float64
	clients     int // -c
	outstanding int // -q
	threads     int // -T
	rate        int // -Q, 0: as fast as it goes
	verbose     bool
}

// runDNSPerf runs dnsperf against addr with the query file and parses its
// report; with opts.verbose it also collects every query's latency (dnsperf
// -v prints one line per response: "> RCODE NAME TYPE SECONDS").
func runDNSPerf(b *testing.B, bin, addr, queries string, o dnsperfOpts) dnsperfRun {
	b.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		b.Fatal(err)
	}
	args := []string{"-s", host, "-p", port, "-d", queries, "-l", strconv.FormatFloat(o.seconds, 'f', -1, 64),
		"-c", strconv.Itoa(o.clients), "-q", strconv.Itoa(o.outstanding), "-T", strconv.Itoa(o.threads), "-t", "2"}
	if o.rate > 0 {
		args = append(args, "-Q", strconv.Itoa(o.rate))
	}
	var out *os.File
	if o.verbose {
		args = append(args, "-v")
		// The per-query lines go to a file, parsed after the run, so that
		// reading them costs nothing while the load runs.
		if out, err = os.CreateTemp(b.TempDir(), "dnsperf-*.out"); err != nil {
			b.Fatal(err)
		}
		defer os.Remove(out.Name())
		defer out.Close()
	}
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	var stdout bytes.Buffer
	cmd.Stderr = &stderr
	if out != nil {
		cmd.Stdout = out
	} else {
		cmd.Stdout = &stdout
	}
	harness.DieWithParent(cmd)
	if err := cmd.Run(); err != nil {
		b.Fatalf("bench: dnsperf %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	r := dnsperfRun{Command: "dnsperf " + strings.Join(args, " ")}
	var report string
	if out != nil {
		if _, err := out.Seek(0, 0); err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		var rest strings.Builder
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "> ") {
				f := strings.Fields(line)
				if len(f) >= 5 && f[1] != "T" {
					if s, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
						r.Latencies = append(r.Latencies, s)
					}
				}
				continue
			}
			rest.WriteString(line)
			rest.WriteByte('\n')
		}
		if err := sc.Err(); err != nil {
			b.Fatal(err)
		}
		report = rest.String()
	} else {
		report = stdout.String()
	}
	if err := parseDNSPerf(report, &r); err != nil {
		b.Fatalf("bench: dnsperf report: %v\n%s\n%s", err, report, stderr.String())
	}
	return r
}

var (
	reInt   = func(label string) *regexp.Regexp { return regexp.MustCompile(`(?m)^\s*` + label + `:\s+(\d+)`) }
	reSent  = reInt("Queries sent")
	reDone  = reInt("Queries completed")
	reLost  = reInt("Queries lost")
	reQPS   = regexp.MustCompile(`(?m)^\s*Queries per second:\s+([0-9.]+)`)
	reRun   = regexp.MustCompile(`(?m)^\s*Run time \(s\):\s+([0-9.]+)`)
	reAvg   = regexp.MustCompile(`(?m)^\s*Average Latency \(s\):\s+([0-9.]+)`)
	reCodes = regexp.MustCompile(`(?m)^\s*Response codes:\s+(.*)$`)
	reCode  = regexp.MustCompile(`([A-Z]+) (\d+) \(`)
)

func parseDNSPerf(s string, r *dnsperfRun) error {
	ints := []struct {
		re  *regexp.Regexp
		dst *int
	}{{reSent, &r.Sent}, {reDone, &r.Completed}, {reLost, &r.Lost}}
	for _, x := range ints {
		m := x.re.FindStringSubmatch(s)
		if m == nil {
			return fmt.Errorf("no %s", x.re)
		}
		*x.dst, _ = strconv.Atoi(m[1])
	}
	floats := []struct {
		re  *regexp.Regexp
		dst *float64
	}{{reQPS, &r.QPS}, {reRun, &r.RunTime}, {reAvg, &r.AvgLatency}}
	for _, x := range floats {
		m := x.re.FindStringSubmatch(s)
		if m == nil {
			return fmt.Errorf("no %s", x.re)
		}
		*x.dst, _ = strconv.ParseFloat(m[1], 64)
	}
	r.Rcodes = map[string]int{}
	if m := reCodes.FindStringSubmatch(s); m != nil {
		for _, c := range reCode.FindAllStringSubmatch(m[1], -1) {
			n, _ := strconv.Atoi(c[2])
			r.Rcodes[c[1]] = n
		}
	}
	return nil
}

// latencySummary is a distribution of latencies in milliseconds.
type latencySummary struct {
	N                        int
	P50, P90, P99, P999, Max float64
	Mean                     float64
	Histogram                []histBucket `json:",omitempty"`
}

// histBucket counts latencies below UpToMs (and above the previous bucket).
type histBucket struct {
	UpToMs float64
	Count  int
}

func summarize(lat []float64) latencySummary {
	if len(lat) == 0 {
		return latencySummary{}
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	pick := func(q float64) float64 {
		i := int(float64(len(s))*q/100+0.999999) - 1
		return s[max(0, min(i, len(s)-1))] * 1000
	}
	var sum float64
	for _, v := range s {
		sum += v
	}
	out := latencySummary{N: len(s), P50: pick(50), P90: pick(90), P99: pick(99), P999: pick(99.9), Max: s[len(s)-1] * 1000, Mean: sum / float64(len(s)) * 1000}
	// Log-spaced buckets from 10 µs to 1 s.
	j := 0
	for edge := 0.01; edge <= 1000; edge *= 1.25892541179 { // 10 per decade
		c := 0
		for j < len(s) && s[j]*1000 <= edge {
			c++
			j++
		}
		out.Histogram = append(out.Histogram, histBucket{UpToMs: roundTo(edge, 4), Count: c})
	}
	if j < len(s) {
		out.Histogram = append(out.Histogram, histBucket{UpToMs: -1, Count: len(s) - j})
	}
	return out
}

func roundTo(v float64, digits int) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', digits, 64), 64)
	return f
}

// median returns the median of v (the mean of the two middle values).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
