package route53

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// discoverTimeout bounds the lookups of DiscoverZones, retries included.
const discoverTimeout = time.Minute

// DiscoverZones returns zones with their ids and types filled in, as
// ExternalDNS finds hosted zones by domain and --aws-zone-type: a zone
// without an id is looked up by name among the account's hosted zones (of
// its type, when given) and must match exactly one; a zone with an id is
// read to learn whether it is private, and must have the name given. An
// ambiguous or missing zone is an error that names the candidates.
func DiscoverZones(ctx context.Context, client *route53.Client, zones []Zone) ([]Zone, error) {
	ctx, cancel := context.WithTimeout(ctx, discoverTimeout)
	defer cancel()
	out := make([]Zone, len(zones))
	var all []types.HostedZone
	listed := false
	for i, z := range zones {
		if z.ID != "" {
			got, err := client.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: aws.String(z.ID)})
			var nf *types.NoSuchHostedZone
			switch {
			case errors.As(err, &nf):
				return nil, fmt.Errorf("zone %s: hosted zone %s does not exist", z.Name, z.ID)
			case err != nil:
				// Known by id: the mirror can start without the type.
				log.Warningf("Route 53 zone %s: reading hosted zone %s: %v; taking it as %s", z.Name, z.ID, err, typeOr(z.Type, ZonePublic))
				z.Type = typeOr(z.Type, ZonePublic)
				out[i] = z
				continue
			}
			hz := got.HostedZone
			if name := normName(unescapeName(aws.ToString(hz.Name))); name != z.Name {
				return nil, fmt.Errorf("zone %s: hosted zone %s is %s, not %s", z.Name, z.ID, name, z.Name)
			}
			t := zoneType(*hz)
			if z.Type != "" && z.Type != t {
				return nil, fmt.Errorf("zone %s: hosted zone %s is %s, not %s", z.Name, z.ID, t, z.Type)
			}
			z.Type = t
			out[i] = z
			continue
		}
		if !listed {
			p := route53.NewListHostedZonesPaginator(client, &route53.ListHostedZonesInput{})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return nil, fmt.Errorf("zone %s: listing the hosted zones to find its id: %w", z.Name, err)
				}
				all = append(all, page.HostedZones...)
			}
			listed = true
		}
		var match, named []string
		for _, hz := range all {
			if normName(unescapeName(aws.ToString(hz.Name))) != z.Name {
				continue
			}
			id := strings.TrimPrefix(aws.ToString(hz.Id), "/hostedzone/")
			t := zoneType(hz)
			named = append(named, id+" ("+t+")")
			if z.Type == "" || z.Type == t {
				match = append(match, id)
				out[i] = Zone{Name: z.Name, ID: id, Type: t}
			}
		}
		switch {
		case len(match) == 1:
		case len(named) == 0:
			return nil, fmt.Errorf("zone %s: no hosted zone of that name in the account", z.Name)
		case len(match) == 0:
			return nil, fmt.Errorf("zone %s: no %s hosted zone of that name; there is %s", z.Name, z.Type, strings.Join(named, ", "))
		default:
			return nil, fmt.Errorf("zone %s is ambiguous: hosted zones %s; give one: zone %s HOSTED_ZONE_ID, or zone %s public|private", z.Name, strings.Join(named, ", "), z.Name, z.Name)
		}
	}
	for i := range out {
		for j := range i {
			if out[i].ID == out[j].ID {
				return nil, fmt.Errorf("zones %s and %s are both hosted zone %s", out[j].Name, out[i].Name, out[i].ID)
			}
		}
	}
	return out, nil
}

func zoneType(hz types.HostedZone) string {
	if hz.Config != nil && hz.Config.PrivateZone {
		return ZonePrivate
	}
	return ZonePublic
}

func typeOr(t, def string) string {
	if t == "" {
		return def
	}
	return t
}
