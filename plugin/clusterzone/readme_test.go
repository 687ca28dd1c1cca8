package clusterzone

import (
	"os"
	"strings"
	"testing"

	"github.com/coredns/caddy"
)

// TestReadmeExamples parses the clusterzone block of every Corefile example
// in README.md: an example that no longer parses is a documentation bug.
func TestReadmeExamples(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, block := range strings.Split(string(b), "~~~ corefile")[1:] {
		block, _, _ = strings.Cut(block, "~~~")
		lines := strings.Split(block, "\n")
		if len(lines) < 2 {
			continue
		}
		key, _, _ := strings.Cut(strings.TrimSpace(lines[1]), " ")
		zone := strings.Split(key, ":")[0]
		start := strings.Index(block, "clusterzone")
		if start < 0 {
			continue
		}
		// The clusterzone directive up to its closing brace.
		body, depth, end := block[start:], 0, -1
		for j, r := range body {
			switch r {
			case '{':
				depth++
			case '}':
				depth--
				if depth == 0 {
					end = j + 1
				}
			case '\n':
				if depth == 0 && j > 0 && !strings.Contains(body[:j], "{") {
					end = j // a directive without a block
				}
			}
			if end >= 0 {
				break
			}
		}
		if end < 0 {
			t.Errorf("example %d: unbalanced braces:\n%s", i, block)
			continue
		}
		c := caddy.NewTestController("dns", body[:end])
		c.ServerBlockKeys = []string{zone}
		if _, _, err := parse(c); err != nil {
			t.Errorf("example %d (zone %s) does not parse: %v\n%s", i, zone, err, body[:end])
		}
		n++
	}
	t.Logf("%d examples parsed", n)
	if n < 3 {
		t.Errorf("found %d Corefile examples with clusterzone in README.md, want several", n)
	}
}
