package clusterzone

import (
	"strings"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/route53"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
)

// mirrorSource shows the record table to the Route 53 mirror: the external
// view of every name, with AWS load-balancer hostnames as ALIAS targets.
type mirrorSource struct{ t *table.Table }

// Endpoints implements route53.Source.
func (m mirrorSource) Endpoints(zone string) []route53.Endpoint {
	return toEndpoints(m.t.Entries(zone, table.External))
}

// EndpointsAt implements route53.Source.
func (m mirrorSource) EndpointsAt(names []string) []route53.Endpoint {
	return toEndpoints(m.t.EntriesAt(names, table.External))
}

func toEndpoints(entries []*table.Entry) []route53.Endpoint {
	var out []route53.Endpoint
	for _, e := range entries {
		resource := "service/" + e.Owner.Key
		var v4, v6 []string
		for _, ip := range e.Set.External {
			if ip.Is4() {
				v4 = append(v4, ip.String())
			} else {
				v6 = append(v6, ip.String())
			}
		}
		if alias := awsLoadBalancer(e.Set.Aliases); alias != "" {
			out = append(out, route53.Endpoint{Name: e.Set.Name, Type: "A", TTL: int64(e.Set.TTL), Alias: alias, Resource: resource})
			if e.Set.DualStack || len(v6) > 0 {
				out = append(out, route53.Endpoint{Name: e.Set.Name, Type: "AAAA", TTL: int64(e.Set.TTL), Alias: alias, Resource: resource})
			}
			continue
		}
		if len(v4) > 0 {
			out = append(out, route53.Endpoint{Name: e.Set.Name, Type: "A", TTL: int64(e.Set.TTL), Targets: v4, Resource: resource})
		}
		if len(v6) > 0 {
			out = append(out, route53.Endpoint{Name: e.Set.Name, Type: "AAAA", TTL: int64(e.Set.TTL), Targets: v6, Resource: resource})
		}
	}
	return out
}

// awsLoadBalancer returns the first AWS load-balancer hostname of hosts.
func awsLoadBalancer(hosts []string) string {
	for _, h := range hosts {
		h = strings.TrimSuffix(h, ".")
		if strings.HasSuffix(h, ".elb.amazonaws.com") || strings.Contains(h, ".elb.") && strings.HasSuffix(h, ".amazonaws.com") {
			return h
		}
	}
	return ""
}
