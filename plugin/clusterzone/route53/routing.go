package route53

import (
	"fmt"
	"strings"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// setRouting writes r's set identifier and policy into rs, as ExternalDNS's
// AWS provider writes an endpoint's SetIdentifier and aws/* properties:
// the policy's fields only, the geoproximity bias always (ExternalDNS
// defaults it to 0), the health check with any policy.
func setRouting(rs *types.ResourceRecordSet, r *table.Routing) {
	if r == nil {
		return
	}
	rs.SetIdentifier = aws.String(r.SetIdentifier)
	switch r.Policy {
	case table.RoutingWeighted:
		rs.Weight = aws.Int64(r.Weight)
	case table.RoutingLatency:
		rs.Region = types.ResourceRecordSetRegion(r.Region)
	case table.RoutingFailover:
		rs.Failover = types.ResourceRecordSetFailover(r.Failover)
	case table.RoutingGeolocation:
		g := &types.GeoLocation{}
		if r.Continent != "" {
			g.ContinentCode = aws.String(r.Continent)
		} else {
			g.CountryCode = aws.String(r.Country)
			if r.Subdivision != "" {
				g.SubdivisionCode = aws.String(r.Subdivision)
			}
		}
		rs.GeoLocation = g
	case table.RoutingGeoproximity:
		g := &types.GeoProximityLocation{Bias: aws.Int32(r.Bias)}
		switch {
		case r.ProximityRegion != "":
			g.AWSRegion = aws.String(r.ProximityRegion)
		case r.LocalZoneGroup != "":
			g.LocalZoneGroup = aws.String(r.LocalZoneGroup)
		default:
			g.Coordinates = &types.Coordinates{Latitude: aws.String(r.Latitude), Longitude: aws.String(r.Longitude)}
		}
		rs.GeoProximityLocation = g
	case table.RoutingMultiValue:
		rs.MultiValueAnswer = aws.Bool(true)
	}
	if r.HealthCheckID != "" {
		rs.HealthCheckId = aws.String(r.HealthCheckID)
	}
}

// copyRouting gives dst the set identifier, routing policy and health check
// of src: ExternalDNS's TXT registry writes a record's ownership TXT with
// the record's own (registry/txt.go, generateTXTRecord).
func copyRouting(dst, src *types.ResourceRecordSet) {
	dst.SetIdentifier = src.SetIdentifier
	dst.Weight, dst.Region, dst.Failover = src.Weight, src.Region, src.Failover
	dst.GeoLocation, dst.GeoProximityLocation = src.GeoLocation, src.GeoProximityLocation
	dst.MultiValueAnswer, dst.HealthCheckId = src.MultiValueAnswer, src.HealthCheckId
}

// routingKind returns the routing policy of rs, "" for simple routing.
// Route 53 keeps the record sets of one name and type all simple (one) or
// all of one policy.
func routingKind(rs *types.ResourceRecordSet) string {
	switch {
	case rs.Weight != nil:
		return table.RoutingWeighted
	case rs.Region != "":
		return table.RoutingLatency
	case rs.Failover != "":
		return table.RoutingFailover
	case rs.GeoLocation != nil:
		return table.RoutingGeolocation
	case rs.GeoProximityLocation != nil:
		return table.RoutingGeoproximity
	case aws.ToBool(rs.MultiValueAnswer):
		return table.RoutingMultiValue
	case rs.SetIdentifier != nil:
		return "other" // IP-based, or one this plugin does not write
	}
	return ""
}

// sameRouting reports whether a and b have the same set identifier,
// routing policy and health check.
func sameRouting(a, b *types.ResourceRecordSet) bool {
	return aws.ToString(a.SetIdentifier) == aws.ToString(b.SetIdentifier) &&
		aws.ToInt64(a.Weight) == aws.ToInt64(b.Weight) && (a.Weight == nil) == (b.Weight == nil) &&
		a.Region == b.Region && a.Failover == b.Failover &&
		sameGeo(a.GeoLocation, b.GeoLocation) && sameProximity(a.GeoProximityLocation, b.GeoProximityLocation) &&
		aws.ToBool(a.MultiValueAnswer) == aws.ToBool(b.MultiValueAnswer) &&
		aws.ToString(a.HealthCheckId) == aws.ToString(b.HealthCheckId)
}

func sameGeo(a, b *types.GeoLocation) bool {
	if a == nil || b == nil {
		return a == b
	}
	return aws.ToString(a.ContinentCode) == aws.ToString(b.ContinentCode) &&
		aws.ToString(a.CountryCode) == aws.ToString(b.CountryCode) &&
		aws.ToString(a.SubdivisionCode) == aws.ToString(b.SubdivisionCode)
}

func sameProximity(a, b *types.GeoProximityLocation) bool {
	if a == nil || b == nil {
		return a == b
	}
	var la, lo, lb, lob string
	if a.Coordinates != nil {
		la, lo = aws.ToString(a.Coordinates.Latitude), aws.ToString(a.Coordinates.Longitude)
	}
	if b.Coordinates != nil {
		lb, lob = aws.ToString(b.Coordinates.Latitude), aws.ToString(b.Coordinates.Longitude)
	}
	return aws.ToString(a.AWSRegion) == aws.ToString(b.AWSRegion) &&
		aws.ToString(a.LocalZoneGroup) == aws.ToString(b.LocalZoneGroup) &&
		aws.ToInt32(a.Bias) == aws.ToInt32(b.Bias) && la == lb && lo == lob
}

// setID returns the set identifier of rs, "" for a simple record set.
func setID(rs *types.ResourceRecordSet) string { return aws.ToString(rs.SetIdentifier) }

// routingSummary describes the set identifier and routing of rs for the
// log: "" for a simple record set.
func routingSummary(rs *types.ResourceRecordSet) string {
	if rs.SetIdentifier == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, " [set-identifier %s", aws.ToString(rs.SetIdentifier))
	switch routingKind(rs) {
	case table.RoutingWeighted:
		fmt.Fprintf(&b, ", weight %d", aws.ToInt64(rs.Weight))
	case table.RoutingLatency:
		fmt.Fprintf(&b, ", region %s", rs.Region)
	case table.RoutingFailover:
		fmt.Fprintf(&b, ", failover %s", rs.Failover)
	case table.RoutingGeolocation:
		g := rs.GeoLocation
		fmt.Fprintf(&b, ", geolocation %s/%s/%s", aws.ToString(g.ContinentCode), aws.ToString(g.CountryCode), aws.ToString(g.SubdivisionCode))
	case table.RoutingGeoproximity:
		g := rs.GeoProximityLocation
		fmt.Fprintf(&b, ", geoproximity %s%s", aws.ToString(g.AWSRegion), aws.ToString(g.LocalZoneGroup))
		if c := g.Coordinates; c != nil {
			fmt.Fprintf(&b, "%s,%s", aws.ToString(c.Latitude), aws.ToString(c.Longitude))
		}
		fmt.Fprintf(&b, " bias %d", aws.ToInt32(g.Bias))
	case table.RoutingMultiValue:
		b.WriteString(", multivalue")
	}
	if rs.HealthCheckId != nil {
		fmt.Fprintf(&b, ", health check %s", aws.ToString(rs.HealthCheckId))
	}
	b.WriteString("]")
	return b.String()
}
