package main

import (
	"testing"

	"github.com/coredns/coredns/core/dnsserver"
)

func TestWithClusterzone(t *testing.T) {
	dirs := withClusterzone(dnsserver.Directives)
	pos := map[string]int{}
	for i, d := range dirs {
		if _, dup := pos[d]; dup {
			t.Fatalf("directive %q listed twice", d)
		}
		pos[d] = i
	}
	cz, ok := pos["clusterzone"]
	if !ok {
		t.Fatal("clusterzone missing from the directives")
	}
	if cz+1 != pos["k8s_external"] {
		t.Errorf("clusterzone at %d, want just before k8s_external at %d", cz, pos["k8s_external"])
	}
	// dnssec signs what clusterzone answers only when it comes first.
	for _, d := range []string{"ready", "prometheus", "cache", "dnssec", "transfer"} {
		if pos[d] > cz {
			t.Errorf("%s must come before clusterzone in the chain", d)
		}
	}
	for _, d := range []string{"kubernetes", "file", "forward"} {
		if pos[d] < cz {
			t.Errorf("%s must come after clusterzone in the chain", d)
		}
	}
}
