package translate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"

	"github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// Routing annotation keys after the prefix: ExternalDNS's names (its AWS
// provider reads every "aws-*" annotation as the provider-specific property
// "aws/*", and set-identifier as the endpoint's SetIdentifier).
const (
	AnnotationSetIdentifier         = "set-identifier"
	AnnotationAWSWeight             = "aws-weight"
	AnnotationAWSRegion             = "aws-region"
	AnnotationAWSFailover           = "aws-failover"
	AnnotationAWSGeoContinent       = "aws-geolocation-continent-code"
	AnnotationAWSGeoCountry         = "aws-geolocation-country-code"
	AnnotationAWSGeoSubdivision     = "aws-geolocation-subdivision-code"
	AnnotationAWSGeoProximityRegion = "aws-geoproximity-region"
	AnnotationAWSGeoProximityLZG    = "aws-geoproximity-local-zone-group"
	AnnotationAWSGeoProximityCoords = "aws-geoproximity-coordinates"
	AnnotationAWSGeoProximityBias   = "aws-geoproximity-bias"
	AnnotationAWSMultiValueAnswer   = "aws-multi-value-answer"
	AnnotationAWSHealthCheckID      = "aws-health-check-id"
	maxSetIdentifier                = 128 // Route 53's limit
	maxHealthCheckID                = 64  // Route 53's limit
	continentCodes                  = "AF AN AS EU OC NA SA"
	minBias, maxBias                = -99, 99
	minWeight, maxWeight            = 0, 255
	minLatitude, maxLatitude        = -90, 90
	minLongitude, maxLongitude      = -180, 180
	routingWithheld                 = "; the name is served but not written to Route 53"
	routingAnnotationsWithoutPolicy = "set-identifier %s without a routing policy (aws-weight, aws-region, aws-failover, aws-geolocation-*, aws-geoproximity-* or aws-multi-value-answer): Route 53 needs one"
	routingAnnotationsWithoutSetID  = "%s without set-identifier: Route 53 needs a set identifier with a routing policy"
	routingSeveralPolicies          = "more than one routing policy (%s): a record set has one"
)

// latencyRegions are the regions Route 53 accepts for latency routing
// (and geoproximity), from the SDK.
var latencyRegions = types.ResourceRecordSetRegion("").Values()

// routing reads the routing annotations: nil when there are none. Invalid
// annotations give a Routing with Invalid set (the Route 53 mirror leaves
// the names alone) and a problem.
func (r *Result) routing(ann annotations) *table.Routing {
	get := func(key string) (string, bool) {
		v, ok := ann.get(key)
		return strings.TrimSpace(v), ok
	}
	setID, hasSetID := get(AnnotationSetIdentifier)
	rt := &table.Routing{SetIdentifier: setID}
	var present, policies, bad []string
	has := func(key string) (string, bool) {
		v, ok := get(key)
		if ok {
			present = append(present, key)
		}
		return v, ok
	}
	policy := func(p string) {
		if !slices.Contains(policies, p) {
			policies = append(policies, p)
		}
		rt.Policy = p
	}
	if v, ok := has(AnnotationAWSWeight); ok {
		policy(table.RoutingWeighted)
		w, err := strconv.ParseInt(v, 10, 64)
		if err != nil || w < minWeight || w > maxWeight {
			bad = append(bad, fmt.Sprintf("aws-weight %s is not an integer %d..%d", quote(v), minWeight, maxWeight))
		}
		rt.Weight = w
	}
	if v, ok := has(AnnotationAWSRegion); ok {
		policy(table.RoutingLatency)
		rt.Region = strings.ToLower(v)
		if !slices.Contains(latencyRegions, types.ResourceRecordSetRegion(rt.Region)) {
			bad = append(bad, fmt.Sprintf("aws-region %s is not a region Route 53 routes latency to", quote(v)))
		}
	}
	if v, ok := has(AnnotationAWSFailover); ok {
		policy(table.RoutingFailover)
		rt.Failover = strings.ToUpper(v)
		if rt.Failover != "PRIMARY" && rt.Failover != "SECONDARY" {
			bad = append(bad, fmt.Sprintf("aws-failover %s is neither PRIMARY nor SECONDARY", quote(v)))
		}
	}
	continent, hasContinent := has(AnnotationAWSGeoContinent)
	country, hasCountry := has(AnnotationAWSGeoCountry)
	subdivision, hasSubdivision := has(AnnotationAWSGeoSubdivision)
	if hasContinent || hasCountry || hasSubdivision {
		policy(table.RoutingGeolocation)
		rt.Continent, rt.Country, rt.Subdivision = strings.ToUpper(continent), strings.ToUpper(country), strings.ToUpper(subdivision)
		switch {
		case hasContinent && (hasCountry || hasSubdivision):
			bad = append(bad, "aws-geolocation-continent-code with a country or subdivision code: a geolocation is one or the other")
		case hasContinent && !slices.Contains(strings.Fields(continentCodes), rt.Continent):
			bad = append(bad, fmt.Sprintf("aws-geolocation-continent-code %s is not one of %s", quote(continent), continentCodes))
		case hasSubdivision && !hasCountry:
			bad = append(bad, "aws-geolocation-subdivision-code without aws-geolocation-country-code")
		case hasCountry && !(rt.Country == "*" || len(rt.Country) == 2 && isUpperAlpha(rt.Country)):
			bad = append(bad, fmt.Sprintf("aws-geolocation-country-code %s is not a two-letter country code or *", quote(country)))
		case hasSubdivision && (len(rt.Subdivision) < 1 || len(rt.Subdivision) > 3 || !isUpperAlnum(rt.Subdivision)):
			bad = append(bad, fmt.Sprintf("aws-geolocation-subdivision-code %s is not a subdivision code", quote(subdivision)))
		}
	}
	region, hasRegion := has(AnnotationAWSGeoProximityRegion)
	lzg, hasLZG := has(AnnotationAWSGeoProximityLZG)
	coords, hasCoords := has(AnnotationAWSGeoProximityCoords)
	bias, hasBias := has(AnnotationAWSGeoProximityBias)
	if hasRegion || hasLZG || hasCoords || hasBias {
		policy(table.RoutingGeoproximity)
		rt.ProximityRegion, rt.LocalZoneGroup = strings.ToLower(region), strings.ToLower(lzg)
		n := 0
		for _, b := range []bool{hasRegion, hasLZG, hasCoords} {
			if b {
				n++
			}
		}
		if n != 1 {
			bad = append(bad, "geoproximity needs exactly one of aws-geoproximity-region, aws-geoproximity-local-zone-group and aws-geoproximity-coordinates")
		}
		if hasRegion && !slices.Contains(latencyRegions, types.ResourceRecordSetRegion(rt.ProximityRegion)) {
			bad = append(bad, fmt.Sprintf("aws-geoproximity-region %s is not an AWS region", quote(region)))
		}
		if hasLZG && (lzg == "" || !isLocalZoneGroup(rt.LocalZoneGroup)) {
			bad = append(bad, fmt.Sprintf("aws-geoproximity-local-zone-group %s is not a Local Zone group", quote(lzg)))
		}
		if hasCoords {
			lat, long, ok := parseCoordinates(coords)
			if !ok {
				bad = append(bad, fmt.Sprintf("aws-geoproximity-coordinates %s is not \"latitude,longitude\" (-90..90,-180..180)", quote(coords)))
			}
			rt.Latitude, rt.Longitude = lat, long
		}
		if hasBias {
			b, err := strconv.ParseInt(bias, 10, 32)
			if err != nil || b < minBias || b > maxBias {
				bad = append(bad, fmt.Sprintf("aws-geoproximity-bias %s is not an integer %d..%d", quote(bias), minBias, maxBias))
			}
			rt.Bias = int32(b)
		}
	}
	if v, ok := has(AnnotationAWSMultiValueAnswer); ok {
		policy(table.RoutingMultiValue)
		// ExternalDNS writes a multivalue answer for any value, "false"
		// included: only what clearly asks for one is accepted.
		if v != "" && !strings.EqualFold(v, "true") {
			bad = append(bad, fmt.Sprintf("aws-multi-value-answer %s is not \"true\"", quote(v)))
		}
	}
	if v, ok := has(AnnotationAWSHealthCheckID); ok {
		rt.HealthCheckID = v
		if v == "" || len(v) > maxHealthCheckID || strings.ContainsAny(v, " \t,") {
			bad = append(bad, fmt.Sprintf("aws-health-check-id %s is not a health check id", quote(v)))
		}
	}

	switch {
	case !hasSetID && len(present) == 0:
		return nil
	case !hasSetID:
		bad = append([]string{fmt.Sprintf(routingAnnotationsWithoutSetID, strings.Join(present, ", "))}, bad...)
	case setID == "" || len(setID) > maxSetIdentifier:
		bad = append([]string{fmt.Sprintf("set-identifier %s is not 1..%d characters", quote(setID), maxSetIdentifier)}, bad...)
	case len(policies) == 0:
		bad = append(bad, fmt.Sprintf(routingAnnotationsWithoutPolicy, quote(setID)))
	}
	if len(policies) > 1 {
		bad = append(bad, fmt.Sprintf(routingSeveralPolicies, strings.Join(policies, ", ")))
	}
	if len(bad) > 0 {
		rt.Invalid = strings.Join(bad, "; ")
		r.Problems = append(r.Problems, Problem{ReasonRouting, "routing: " + rt.Invalid + routingWithheld})
		if len(policies) > 1 {
			rt.Policy = ""
		}
	}
	return rt
}

func isUpperAlpha(s string) bool {
	for _, c := range s {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

func isUpperAlnum(s string) bool {
	for _, c := range s {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// isLocalZoneGroup reports whether s looks like a Local Zone group
// ("us-west-2-lax-1"): lower-case letters, digits and dashes.
func isLocalZoneGroup(s string) bool {
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return len(s) <= 64
}

// parseCoordinates parses "latitude,longitude" as ExternalDNS does, and
// returns both as written.
func parseCoordinates(v string) (lat, long string, ok bool) {
	lat, long, found := strings.Cut(v, ",")
	lat, long = strings.TrimSpace(lat), strings.TrimSpace(long)
	if !found || strings.Contains(long, ",") {
		return lat, long, false
	}
	la, err1 := strconv.ParseFloat(lat, 64)
	lo, err2 := strconv.ParseFloat(long, 64)
	return lat, long, err1 == nil && err2 == nil && la >= minLatitude && la <= maxLatitude && lo >= minLongitude && lo <= maxLongitude
}
