package translate

import (
	"strings"
	"testing"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
)

func TestRouting(t *testing.T) {
	const A, G = PrefixAlpha, PrefixGA
	tests := []struct {
		name string
		ann  map[string]string
		want *table.Routing // Invalid is checked by invalid
		// invalid is a part of the problem expected ("" : none).
		invalid string
	}{
		{name: "no routing annotations", ann: nil, want: nil},
		{name: "weighted", ann: map[string]string{A + "set-identifier": "eu", A + "aws-weight": "20"},
			want: &table.Routing{SetIdentifier: "eu", Policy: table.RoutingWeighted, Weight: 20}},
		{name: "weight 0 is valid", ann: map[string]string{A + "set-identifier": "off", A + "aws-weight": "0"},
			want: &table.Routing{SetIdentifier: "off", Policy: table.RoutingWeighted}},
		{name: "GA prefix wins over alpha", ann: map[string]string{A + "set-identifier": "a", G + "set-identifier": "g", A + "aws-weight": "1", G + "aws-weight": "2"},
			want: &table.Routing{SetIdentifier: "g", Policy: table.RoutingWeighted, Weight: 2}},
		{name: "latency", ann: map[string]string{G + "set-identifier": "use1", G + "aws-region": "us-east-1"},
			want: &table.Routing{SetIdentifier: "use1", Policy: table.RoutingLatency, Region: "us-east-1"}},
		{name: "failover with a health check", ann: map[string]string{A + "set-identifier": "p", A + "aws-failover": "PRIMARY", A + "aws-health-check-id": "abcdef11-2222-3333-4444-555555fedcba"},
			want: &table.Routing{SetIdentifier: "p", Policy: table.RoutingFailover, Failover: "PRIMARY", HealthCheckID: "abcdef11-2222-3333-4444-555555fedcba"}},
		{name: "failover in lower case", ann: map[string]string{A + "set-identifier": "s", A + "aws-failover": "secondary"},
			want: &table.Routing{SetIdentifier: "s", Policy: table.RoutingFailover, Failover: "SECONDARY"}},
		{name: "geolocation continent", ann: map[string]string{A + "set-identifier": "eu", A + "aws-geolocation-continent-code": "EU"},
			want: &table.Routing{SetIdentifier: "eu", Policy: table.RoutingGeolocation, Continent: "EU"}},
		{name: "geolocation country and subdivision", ann: map[string]string{A + "set-identifier": "wa", A + "aws-geolocation-country-code": "US", A + "aws-geolocation-subdivision-code": "WA"},
			want: &table.Routing{SetIdentifier: "wa", Policy: table.RoutingGeolocation, Country: "US", Subdivision: "WA"}},
		{name: "geolocation default location", ann: map[string]string{A + "set-identifier": "rest", A + "aws-geolocation-country-code": "*"},
			want: &table.Routing{SetIdentifier: "rest", Policy: table.RoutingGeolocation, Country: "*"}},
		{name: "geoproximity region with bias", ann: map[string]string{A + "set-identifier": "gp", A + "aws-geoproximity-region": "eu-west-1", A + "aws-geoproximity-bias": "-10"},
			want: &table.Routing{SetIdentifier: "gp", Policy: table.RoutingGeoproximity, ProximityRegion: "eu-west-1", Bias: -10}},
		{name: "geoproximity coordinates", ann: map[string]string{A + "set-identifier": "gp", A + "aws-geoproximity-coordinates": "49.22,-74.01"},
			want: &table.Routing{SetIdentifier: "gp", Policy: table.RoutingGeoproximity, Latitude: "49.22", Longitude: "-74.01"}},
		{name: "geoproximity local zone group", ann: map[string]string{A + "set-identifier": "gp", A + "aws-geoproximity-local-zone-group": "us-west-2-lax-1"},
			want: &table.Routing{SetIdentifier: "gp", Policy: table.RoutingGeoproximity, LocalZoneGroup: "us-west-2-lax-1"}},
		{name: "multi-value answer", ann: map[string]string{A + "set-identifier": "m1", A + "aws-multi-value-answer": "true"},
			want: &table.Routing{SetIdentifier: "m1", Policy: table.RoutingMultiValue}},

		{name: "weight above 255", ann: map[string]string{A + "set-identifier": "eu", A + "aws-weight": "256"}, invalid: "aws-weight \"256\" is not an integer 0..255"},
		{name: "weight not a number", ann: map[string]string{A + "set-identifier": "eu", A + "aws-weight": "heavy"}, invalid: "aws-weight"},
		{name: "negative weight", ann: map[string]string{A + "set-identifier": "eu", A + "aws-weight": "-1"}, invalid: "aws-weight"},
		{name: "unknown region", ann: map[string]string{A + "set-identifier": "x", A + "aws-region": "moon-1"}, invalid: "aws-region \"moon-1\" is not a region"},
		{name: "unknown continent", ann: map[string]string{A + "set-identifier": "x", A + "aws-geolocation-continent-code": "XX"}, invalid: "is not one of AF AN AS EU OC NA SA"},
		{name: "continent and country", ann: map[string]string{A + "set-identifier": "x", A + "aws-geolocation-continent-code": "EU", A + "aws-geolocation-country-code": "DE"}, invalid: "one or the other"},
		{name: "subdivision without country", ann: map[string]string{A + "set-identifier": "x", A + "aws-geolocation-subdivision-code": "WA"}, invalid: "without aws-geolocation-country-code"},
		{name: "failover neither primary nor secondary", ann: map[string]string{A + "set-identifier": "x", A + "aws-failover": "TERTIARY"}, invalid: "neither PRIMARY nor SECONDARY"},
		{name: "routing without set-identifier", ann: map[string]string{A + "aws-weight": "10"}, invalid: "aws-weight without set-identifier"},
		{name: "health check without set-identifier", ann: map[string]string{A + "aws-health-check-id": "abc"}, invalid: "aws-health-check-id without set-identifier"},
		{name: "set-identifier without a policy", ann: map[string]string{A + "set-identifier": "lonely"}, invalid: "without a routing policy"},
		{name: "empty set-identifier", ann: map[string]string{A + "set-identifier": "", A + "aws-weight": "1"}, invalid: "set-identifier \"\" is not 1..128"},
		{name: "two routing types", ann: map[string]string{A + "set-identifier": "x", A + "aws-weight": "1", A + "aws-region": "us-east-1"}, invalid: "more than one routing policy (weighted, latency)"},
		{name: "geoproximity with two locations", ann: map[string]string{A + "set-identifier": "x", A + "aws-geoproximity-region": "us-east-1", A + "aws-geoproximity-coordinates": "1,2"}, invalid: "exactly one of"},
		{name: "geoproximity bias alone", ann: map[string]string{A + "set-identifier": "x", A + "aws-geoproximity-bias": "5"}, invalid: "exactly one of"},
		{name: "geoproximity bias out of range", ann: map[string]string{A + "set-identifier": "x", A + "aws-geoproximity-region": "us-east-1", A + "aws-geoproximity-bias": "100"}, invalid: "aws-geoproximity-bias \"100\""},
		{name: "bad coordinates", ann: map[string]string{A + "set-identifier": "x", A + "aws-geoproximity-coordinates": "91,0"}, invalid: "aws-geoproximity-coordinates \"91,0\""},
		{name: "multi-value answer false", ann: map[string]string{A + "set-identifier": "x", A + "aws-multi-value-answer": "false"}, invalid: "aws-multi-value-answer \"false\" is not \"true\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ann := map[string]string{PrefixAlpha + "hostname": "web.example.org,other.example.org"}
			for k, v := range tc.ann {
				ann[k] = v
			}
			res := Service(lb("shop", ann), opts)
			if len(res.Endpoints) != 2 {
				t.Fatalf("got %d endpoints, want 2 (the names are still served): %+v", len(res.Endpoints), res.Endpoints)
			}
			for _, ep := range res.Endpoints {
				if ep.Routing != res.Endpoints[0].Routing {
					t.Errorf("%s: routing %+v differs from the Service's other name", ep.Name, ep.Routing)
				}
			}
			got := res.Endpoints[0].Routing
			if tc.invalid == "" {
				if len(res.Problems) > 0 {
					t.Fatalf("problems %v, want none", res.Problems)
				}
				if !got.Equal(tc.want) {
					t.Errorf("routing = %+v, want %+v", got, tc.want)
				}
				return
			}
			if got == nil || got.Invalid == "" {
				t.Fatalf("routing = %+v, want an invalid routing", got)
			}
			if len(res.Problems) != 1 || res.Problems[0].Reason != ReasonRouting || !strings.Contains(res.Problems[0].Message, tc.invalid) ||
				!strings.Contains(res.Problems[0].Message, "not written to Route 53") {
				t.Errorf("problems %v, want one %s containing %q", res.Problems, ReasonRouting, tc.invalid)
			}
		})
	}
}

// A headless Service's names carry its routing through Join.
func TestRoutingHeadless(t *testing.T) {
	svc := lb("shop", map[string]string{PrefixAlpha + "hostname": "db.example.org", PrefixAlpha + "set-identifier": "c1", PrefixAlpha + "aws-weight": "5"})
	svc.Spec.Type, svc.Spec.ClusterIP, svc.Spec.ClusterIPs = "ClusterIP", "None", []string{"None"}
	res := Service(svc, opts)
	if res.Backed == nil || !res.Backed.Routing.Equal(&table.Routing{SetIdentifier: "c1", Policy: table.RoutingWeighted, Weight: 5}) {
		t.Fatalf("Backed = %+v", res.Backed)
	}
	eps, _ := Join(res.Backed, []*EndpointSlice{{Key: "shop/db-1", Service: "shop/web", AddressType: "IPv4", Endpoints: []Backend{{Addr: ips("10.1.0.5")[0], Ready: true}}}}, nil)
	if len(eps) != 1 || eps[0].Routing == nil || eps[0].Routing.SetIdentifier != "c1" {
		t.Fatalf("Join = %+v", eps)
	}
}
