// Command coredns is CoreDNS with all of its standard plugins plus clusterzone.
package main

import (
	_ "github.com/clusterzone/clusterzone/plugin/clusterzone"

	"github.com/coredns/coredns/core/dnsserver"
	_ "github.com/coredns/coredns/core/plugin" // every standard plugin
	"github.com/coredns/coredns/coremain"
)

func main() {
	dnsserver.Directives = withClusterzone(dnsserver.Directives)
	coremain.Run()
}

// withClusterzone puts clusterzone into the plugin chain beside
// k8s_external: after transfer (which asks it for zones), dnssec (which signs
// its answers) and the caches and rewrites, before kubernetes, file and
// forward.
func withClusterzone(dirs []string) []string {
	out := make([]string, 0, len(dirs)+1)
	for _, d := range dirs {
		if d == "k8s_external" {
			out = append(out, "clusterzone")
		}
		out = append(out, d)
	}
	return out
}
