package harness

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
)

// rulesZone starts moto behind the rules, creates example.org and returns
// moto, a client through the rules and the zone id.
func newRulesZone(t *testing.T) (*Moto, *route53.Client, string) {
	t.Helper()
	m := StartMoto(t)
	c := Route53Client(m.URL)
	return m, c, CreateHostedZone(t, c, "example.org")
}

func rrs(name, typ string, ttl int64, values ...string) types.ResourceRecordSet {
	s := types.ResourceRecordSet{Name: aws.String(name), Type: types.RRType(typ), TTL: aws.Int64(ttl)}
	for _, v := range values {
		s.ResourceRecords = append(s.ResourceRecords, types.ResourceRecord{Value: aws.String(v)})
	}
	return s
}

func weighted(name, id string, weight int64, value string) types.ResourceRecordSet {
	s := rrs(name, "A", 60, value)
	s.SetIdentifier, s.Weight = aws.String(id), aws.Int64(weight)
	return s
}

func chg(action types.ChangeAction, s types.ResourceRecordSet) types.Change {
	return types.Change{Action: action, ResourceRecordSet: &s}
}

func changeBatch(c *route53.Client, id string, changes ...types.Change) error {
	_, err := c.ChangeResourceRecordSets(context.Background(), &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(id), ChangeBatch: &types.ChangeBatch{Changes: changes},
	})
	return err
}

func mustChange(t *testing.T, c *route53.Client, id string, changes ...types.Change) {
	t.Helper()
	if err := changeBatch(c, id, changes...); err != nil {
		t.Fatalf("change batch: %v", err)
	}
}

// wantInvalidChangeBatch checks that err is Route 53's InvalidChangeBatch
// with one message containing each of msgs.
func wantInvalidChangeBatch(t *testing.T, err error, msgs ...string) {
	t.Helper()
	var icb *types.InvalidChangeBatch
	if !errors.As(err, &icb) {
		t.Fatalf("error %v (%T), want *types.InvalidChangeBatch", err, err)
	}
	all := strings.Join(icb.Messages, "\n")
	for _, m := range msgs {
		if !strings.Contains(all, m) {
			t.Errorf("InvalidChangeBatch messages:\n%s\nwant one containing %q", all, m)
		}
	}
	if len(icb.Messages) == 0 {
		t.Errorf("InvalidChangeBatch without messages")
	}
}

// wantInvalidInput checks that err is Route 53's InvalidInput error with msg.
func wantInvalidInput(t *testing.T, err error, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidInput" {
		t.Fatalf("error %v, want InvalidInput", err)
	}
	if !strings.Contains(ae.ErrorMessage(), msg) {
		t.Errorf("InvalidInput message %q, want it to contain %q", ae.ErrorMessage(), msg)
	}
}

// listAll lists the zone through c: "name type [setid]" -> fingerprint.
func listAll(t *testing.T, c *route53.Client, id string) map[string]types.ResourceRecordSet {
	t.Helper()
	out := map[string]types.ResourceRecordSet{}
	p := route53.NewListResourceRecordSetsPaginator(c, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(id)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("listing: %v", err)
		}
		for _, s := range page.ResourceRecordSets {
			k := aws.ToString(s.Name) + " " + string(s.Type)
			if s.SetIdentifier != nil {
				k += " " + *s.SetIdentifier
			}
			if _, dup := out[k]; dup {
				t.Errorf("%s listed twice", k)
			}
			out[k] = s
		}
	}
	return out
}

func keysOf(m map[string]types.ResourceRecordSet) []string {
	var out []string
	for k, s := range m {
		if s.Type == types.RRTypeSoa || s.Type == types.RRTypeNs {
			continue
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// checkMoto fails the test when moto's zone is not the one the rules expect.
func checkMoto(t *testing.T, m *Moto, id string) {
	t.Helper()
	diff, err := m.Rules.Check(id)
	if err != nil {
		t.Fatal(err)
	}
	if len(diff) > 0 {
		t.Errorf("moto's zone differs from the expected one: %s", strings.Join(diff, "; "))
	}
}

// wantKeys checks the zone's record sets (SOA and NS aside), through the
// rules and straight from moto.
func wantKeys(t *testing.T, m *Moto, id string, want ...string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	for _, ep := range []string{m.URL, m.ServerURL} {
		if got := keysOf(listAll(t, Route53Client(ep), id)); !slices.Equal(got, want) {
			t.Errorf("zone (listed from %s):\n  %s\nwant\n  %s", ep, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	}
	checkMoto(t, m, id)
}

// TestMotoIsLax documents what the rules are for: stock moto over-deletes on
// a DELETE with a set identifier, duplicates on CREATE, and mixes simple and
// weighted record sets. If this test fails, moto got stricter.
func TestMotoIsLax(t *testing.T) {
	m, _, id := newRulesZone(t)
	raw := Route53Client(m.ServerURL)
	mustChange(t, raw, id,
		chg(types.ChangeActionCreate, weighted("x.example.org", "blue", 10, "192.0.2.1")),
		chg(types.ChangeActionCreate, weighted("y.example.org", "blue", 10, "192.0.2.2")),
		chg(types.ChangeActionCreate, rrs("x.example.org", "A", 60, "192.0.2.3")),
		chg(types.ChangeActionCreate, rrs("z.example.org", "A", 60, "192.0.2.4")),
		chg(types.ChangeActionCreate, rrs("z.example.org", "A", 60, "192.0.2.4")))
	mustChange(t, raw, id, chg(types.ChangeActionDelete, weighted("x.example.org", "blue", 10, "192.0.2.1")))
	var left []string
	p := route53.NewListResourceRecordSetsPaginator(raw, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(id)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.ResourceRecordSets {
			if s.Type == types.RRTypeA {
				left = append(left, aws.ToString(s.Name)+" "+aws.ToString(s.SetIdentifier))
			}
		}
	}
	slices.Sort(left)
	// y/blue went too; z is there twice; x has a simple set next to the weighted ones.
	if want := []string{"x.example.org. ", "z.example.org. ", "z.example.org. "}; !slices.Equal(left, want) {
		t.Logf("stock moto now leaves %q (was %q): it may have become stricter", left, want)
	}
}

func TestRoute53RulesCreateExisting(t *testing.T) {
	m, c, id := newRulesZone(t)
	mustChange(t, c, id, chg(types.ChangeActionCreate, rrs("a.example.org", "A", 60, "192.0.2.1")))
	err := changeBatch(c, id, chg(types.ChangeActionCreate, rrs("A.Example.org.", "A", 300, "192.0.2.9")))
	wantInvalidChangeBatch(t, err, "Tried to create resource record set [name='a.example.org.', type='A'] but it already exists")
	err = changeBatch(c, id, chg(types.ChangeActionCreate, weighted("w.example.org", "one", 1, "192.0.2.1")), chg(types.ChangeActionCreate, weighted("w.example.org", "one", 2, "192.0.2.2")))
	wantInvalidChangeBatch(t, err, "The request contains an invalid set of changes for a resource record set 'A w.example.org.'")
	mustChange(t, c, id, chg(types.ChangeActionCreate, weighted("w.example.org", "one", 1, "192.0.2.1")))
	err = changeBatch(c, id, chg(types.ChangeActionCreate, weighted("w.example.org", "one", 2, "192.0.2.2")))
	wantInvalidChangeBatch(t, err, "Tried to create resource record set [name='w.example.org.', type='A', set-identifier='one'] but it already exists")
	// Wildcards: '*' and \052 are the same name, listed as \052.
	mustChange(t, c, id, chg(types.ChangeActionCreate, rrs("*.apps.example.org", "A", 60, "192.0.2.5")))
	err = changeBatch(c, id, chg(types.ChangeActionCreate, rrs(`\052.APPS.example.org.`, "A", 60, "192.0.2.5")))
	wantInvalidChangeBatch(t, err, `Tried to create resource record set [name='\052.apps.example.org.', type='A'] but it already exists`)
	// UPSERT replaces, CREATE after DELETE in one batch is an update.
	mustChange(t, c, id, chg(types.ChangeActionUpsert, rrs("A.example.org", "A", 120, "192.0.2.7")))
	mustChange(t, c, id, chg(types.ChangeActionDelete, rrs("a.example.org", "A", 120, "192.0.2.7")), chg(types.ChangeActionCreate, rrs("a.example.org", "A", 30, "192.0.2.8")))
	// Batches that change nothing are accepted too, and the waiter works.
	mustChange(t, c, id, chg(types.ChangeActionUpsert, rrs("a.example.org", "A", 30, "192.0.2.8")))
	mustChange(t, c, id, chg(types.ChangeActionDelete, rrs("a.example.org", "A", 30, "192.0.2.8")), chg(types.ChangeActionCreate, rrs("a.example.org", "A", 30, "192.0.2.8")))
	out, err := c.ChangeResourceRecordSets(context.Background(), &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(id),
		ChangeBatch: &types.ChangeBatch{Changes: []types.Change{chg(types.ChangeActionUpsert, rrs("a.example.org", "A", 30, "192.0.2.8"))}}})
	if err != nil || out.ChangeInfo == nil || out.ChangeInfo.Status != types.ChangeStatusInsync {
		t.Fatalf("no-op UPSERT: %+v, %v", out, err)
	}
	if _, err := c.GetChange(context.Background(), &route53.GetChangeInput{Id: out.ChangeInfo.Id}); err != nil {
		t.Errorf("GetChange %s: %v", aws.ToString(out.ChangeInfo.Id), err)
	}
	wantKeys(t, m, id, "a.example.org. A", `\052.apps.example.org. A`, "w.example.org. A one")
	got := listAll(t, c, id)["a.example.org. A"]
	if aws.ToInt64(got.TTL) != 30 || aws.ToString(got.ResourceRecords[0].Value) != "192.0.2.8" {
		t.Errorf("a.example.org A is %d %s, want 30 192.0.2.8", aws.ToInt64(got.TTL), aws.ToString(got.ResourceRecords[0].Value))
	}
}

func TestRoute53RulesDelete(t *testing.T) {
	m, c, id := newRulesZone(t)
	mustChange(t, c, id,
		chg(types.ChangeActionCreate, rrs("a.example.org", "A", 60, "192.0.2.1", "192.0.2.2")),
		chg(types.ChangeActionCreate, weighted("w.example.org", "one", 10, "192.0.2.3")),
		chg(types.ChangeActionCreate, types.ResourceRecordSet{Name: aws.String("alias.example.org"), Type: types.RRTypeA,
			AliasTarget: &types.AliasTarget{HostedZoneId: aws.String("Z26RNL4JYFTOTI"), DNSName: aws.String("nlb-1.elb.us-east-1.amazonaws.com"), EvaluateTargetHealth: true}}))
	for _, tc := range []struct {
		del  types.ResourceRecordSet
		want string
	}{
		{rrs("b.example.org", "A", 60, "192.0.2.1"), "Tried to delete resource record set [name='b.example.org.', type='A'] but it was not found"},
		{rrs("a.example.org", "AAAA", 60, "2001:db8::1"), "Tried to delete resource record set [name='a.example.org.', type='AAAA'] but it was not found"},
		{rrs("a.example.org", "A", 300, "192.0.2.1", "192.0.2.2"), "Tried to delete resource record set [name='a.example.org.', type='A'] but the values provided do not match the current values"},
		{rrs("a.example.org", "A", 60, "192.0.2.1"), "Tried to delete resource record set [name='a.example.org.', type='A'] but the values provided do not match the current values"},
		{weighted("w.example.org", "one", 11, "192.0.2.3"), "Tried to delete resource record set [name='w.example.org.', type='A', set-identifier='one'] but the values provided do not match the current values"},
		{weighted("w.example.org", "two", 10, "192.0.2.3"), "Tried to delete resource record set [name='w.example.org.', type='A', set-identifier='two'] but it was not found"},
		{rrs("w.example.org", "A", 60, "192.0.2.3"), "Tried to delete resource record set [name='w.example.org.', type='A'] but it was not found"},
		{types.ResourceRecordSet{Name: aws.String("alias.example.org"), Type: types.RRTypeA,
			AliasTarget: &types.AliasTarget{HostedZoneId: aws.String("Z26RNL4JYFTOTI"), DNSName: aws.String("nlb-1.elb.us-east-1.amazonaws.com"), EvaluateTargetHealth: false}},
			"Tried to delete resource record set [name='alias.example.org.', type='A'] but the values provided do not match the current values"},
	} {
		// With a valid change first: the batch applies none of it.
		err := changeBatch(c, id, chg(types.ChangeActionCreate, rrs("new.example.org", "TXT", 60, `"x"`)), chg(types.ChangeActionDelete, tc.del))
		wantInvalidChangeBatch(t, err, tc.want)
	}
	wantKeys(t, m, id, "a.example.org. A", "w.example.org. A one", "alias.example.org. A")
	// Values in another order, names in another case: the same record set.
	mustChange(t, c, id,
		chg(types.ChangeActionDelete, rrs("A.EXAMPLE.ORG.", "A", 60, "192.0.2.2", "192.0.2.1")),
		chg(types.ChangeActionDelete, types.ResourceRecordSet{Name: aws.String("alias.example.org"), Type: types.RRTypeA,
			AliasTarget: &types.AliasTarget{HostedZoneId: aws.String("Z26RNL4JYFTOTI"), DNSName: aws.String("nlb-1.elb.us-east-1.amazonaws.com."), EvaluateTargetHealth: true}}))
	wantKeys(t, m, id, "w.example.org. A one")
}

// TestRoute53RulesDeleteSetIdentifier: a DELETE with a set identifier removes
// that record set only, where moto alone removes every one with the
// identifier.
func TestRoute53RulesDeleteSetIdentifier(t *testing.T) {
	m, c, id := newRulesZone(t)
	mustChange(t, c, id,
		chg(types.ChangeActionCreate, weighted("x.example.org", "blue", 10, "192.0.2.1")),
		chg(types.ChangeActionCreate, weighted("x.example.org", "green", 20, "192.0.2.2")),
		chg(types.ChangeActionCreate, weighted("y.example.org", "blue", 30, "192.0.2.3")),
		chg(types.ChangeActionCreate, weighted("z.example.org", "blue", 40, "192.0.2.4")),
		chg(types.ChangeActionCreate, func() types.ResourceRecordSet {
			s := rrs("x.example.org", "TXT", 60, `"blue"`)
			s.SetIdentifier, s.Weight = aws.String("blue"), aws.Int64(1)
			return s
		}()))
	mustChange(t, c, id, chg(types.ChangeActionDelete, weighted("x.example.org", "blue", 10, "192.0.2.1")))
	wantKeys(t, m, id, "x.example.org. A green", "y.example.org. A blue", "z.example.org. A blue", "x.example.org. TXT blue")
	// A DELETE with the identifier and an UPSERT of another name with it,
	// in one batch.
	mustChange(t, c, id,
		chg(types.ChangeActionDelete, weighted("y.example.org", "blue", 30, "192.0.2.3")),
		chg(types.ChangeActionUpsert, weighted("z.example.org", "blue", 41, "192.0.2.5")),
		chg(types.ChangeActionCreate, weighted("q.example.org", "blue", 1, "192.0.2.6")))
	wantKeys(t, m, id, "x.example.org. A green", "z.example.org. A blue", "x.example.org. TXT blue", "q.example.org. A blue")
	if got := listAll(t, c, id)["z.example.org. A blue"]; aws.ToInt64(got.Weight) != 41 {
		t.Errorf("z/blue weight %d, want 41", aws.ToInt64(got.Weight))
	}
	if s := m.Rules.Stats(); s.Repairs != 0 || len(m.Rules.Mismatches()) != 0 {
		t.Errorf("rules repaired moto %d times: %q", s.Repairs, m.Rules.Mismatches())
	}
}

func TestRoute53RulesRoutingKinds(t *testing.T) {
	m, c, id := newRulesZone(t)
	mustChange(t, c, id,
		chg(types.ChangeActionCreate, rrs("plain.example.org", "A", 60, "192.0.2.1")),
		chg(types.ChangeActionCreate, weighted("w.example.org", "one", 10, "192.0.2.2")))
	latency := rrs("w.example.org", "A", 60, "192.0.2.3")
	latency.SetIdentifier, latency.Region = aws.String("eu"), types.ResourceRecordSetRegionEuWest1
	for _, tc := range []struct {
		change types.Change
		want   string
	}{
		{chg(types.ChangeActionCreate, weighted("plain.example.org", "one", 10, "192.0.2.9")), "RRSet with DNS name plain.example.org., type A, SetIdentifier one cannot be created as a non-weighted set exists with the same name and type."},
		{chg(types.ChangeActionUpsert, weighted("plain.example.org", "one", 10, "192.0.2.9")), "RRSet with DNS name plain.example.org., type A, SetIdentifier one cannot be created as a non-weighted set exists with the same name and type."},
		{chg(types.ChangeActionCreate, rrs("w.example.org", "A", 60, "192.0.2.9")), "RRSet with DNS name w.example.org., type A cannot be created as other RRSets exist with the same name and type."},
		{chg(types.ChangeActionCreate, latency), "RRSet with DNS name w.example.org., type A, SetIdentifier eu cannot be created as a non-latency set exists with the same name and type."},
	} {
		wantInvalidChangeBatch(t, changeBatch(c, id, tc.change), tc.want)
	}
	// A batch that makes a mix: both new.
	wantInvalidChangeBatch(t, changeBatch(c, id,
		chg(types.ChangeActionCreate, rrs("mix.example.org", "A", 60, "192.0.2.1")),
		chg(types.ChangeActionCreate, weighted("mix.example.org", "one", 10, "192.0.2.2"))),
		"RRSet with DNS name mix.example.org., type A, SetIdentifier one cannot be created as a non-weighted set exists with the same name and type.")
	// Failover: one PRIMARY, one SECONDARY.
	fo := func(id, role string) types.ResourceRecordSet {
		s := rrs("fo.example.org", "A", 60, "192.0.2.1")
		s.SetIdentifier, s.Failover = aws.String(id), types.ResourceRecordSetFailover(role)
		return s
	}
	mustChange(t, c, id, chg(types.ChangeActionCreate, fo("p", "PRIMARY")))
	wantInvalidChangeBatch(t, changeBatch(c, id, chg(types.ChangeActionCreate, fo("p2", "PRIMARY"))), "SetIdentifier p2 cannot be created as a failover PRIMARY set (SetIdentifier p) exists")
	wantKeys(t, m, id, "plain.example.org. A", "w.example.org. A one", "fo.example.org. A p")
	// Turning a simple record set into weighted ones in one batch is fine.
	mustChange(t, c, id,
		chg(types.ChangeActionDelete, rrs("plain.example.org", "A", 60, "192.0.2.1")),
		chg(types.ChangeActionCreate, weighted("plain.example.org", "one", 10, "192.0.2.1")),
		chg(types.ChangeActionCreate, weighted("plain.example.org", "two", 10, "192.0.2.2")))
	wantKeys(t, m, id, "plain.example.org. A one", "plain.example.org. A two", "w.example.org. A one", "fo.example.org. A p")
}

func TestRoute53RulesCNAME(t *testing.T) {
	m, c, id := newRulesZone(t)
	mustChange(t, c, id,
		chg(types.ChangeActionCreate, rrs("c.example.org", "CNAME", 60, "target.example.net")),
		chg(types.ChangeActionCreate, rrs("d.example.org", "A", 60, "192.0.2.1")))
	wantInvalidChangeBatch(t, changeBatch(c, id, chg(types.ChangeActionCreate, rrs("c.example.org", "TXT", 60, `"x"`))),
		"RRSet of type TXT with DNS name c.example.org. is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone example.org.")
	wantInvalidChangeBatch(t, changeBatch(c, id, chg(types.ChangeActionUpsert, rrs("d.example.org", "CNAME", 60, "target.example.net"))),
		"RRSet of type CNAME with DNS name d.example.org. is not permitted as it conflicts with other records with the same DNS name in zone example.org.")
	wantInvalidChangeBatch(t, changeBatch(c, id, chg(types.ChangeActionCreate, rrs("example.org", "CNAME", 60, "target.example.net"))),
		"RRSet of type CNAME with DNS name example.org. is not permitted at apex in zone example.org.")
	wantInvalidChangeBatch(t, changeBatch(c, id, chg(types.ChangeActionCreate, rrs("other.example.com", "A", 60, "192.0.2.1"))),
		"RRSet with DNS name other.example.com. is not permitted in zone example.org.")
	wantInvalidChangeBatch(t, changeBatch(c, id, chg(types.ChangeActionCreate, rrs("bad\tname.example.org", "A", 60, "192.0.2.1"))),
		"FATAL problem: UnsupportedCharacter (Value contains unsupported characters) encountered with '\t'")
	mustChange(t, c, id, chg(types.ChangeActionCreate, rrs(`odd\011name.example.org`, "A", 60, "192.0.2.1")))
	wantKeys(t, m, id, "c.example.org. CNAME", "d.example.org. A", `odd\011name.example.org. A`)
}

// TestRoute53RulesSameZoneAlias: an ALIAS to a record of the same hosted
// zone needs a name in the zone with a record set of the ALIAS's type,
// there already or made earlier in the batch.
func TestRoute53RulesSameZoneAlias(t *testing.T) {
	m, c, id := newRulesZone(t)
	alias := func(name, typ, target, zoneID string) types.ResourceRecordSet {
		return types.ResourceRecordSet{Name: aws.String(name), Type: types.RRType(typ),
			AliasTarget: &types.AliasTarget{DNSName: aws.String(target), HostedZoneId: aws.String(zoneID)}}
	}
	mustChange(t, c, id, chg(types.ChangeActionCreate, rrs("www.example.org", "A", 60, "192.0.2.1")))
	wantInvalidChangeBatch(t, changeBatch(c, id, chg(types.ChangeActionCreate, alias("example.org", "AAAA", "www.example.org", id))),
		"Tried to create an alias that targets www.example.org., type AAAA in zone "+id+", but that target was not found")
	wantInvalidChangeBatch(t, changeBatch(c, id, chg(types.ChangeActionCreate, alias("example.org", "A", "cdn.example.net", id))),
		"Tried to create an alias that targets cdn.example.net., type A in zone "+id+", but the alias target name does not lie within the target zone")
	// The target made before the ALIAS in one batch: accepted; after it: not.
	wantInvalidChangeBatch(t, changeBatch(c, id,
		chg(types.ChangeActionCreate, alias("example.org", "AAAA", "www.example.org", id)),
		chg(types.ChangeActionCreate, rrs("www.example.org", "AAAA", 60, "2001:db8::1"))),
		"Tried to create an alias that targets www.example.org., type AAAA in zone "+id+", but that target was not found")
	mustChange(t, c, id,
		chg(types.ChangeActionCreate, rrs("www.example.org", "AAAA", 60, "2001:db8::1")),
		chg(types.ChangeActionCreate, alias("example.org", "AAAA", "www.example.org", id)),
		chg(types.ChangeActionCreate, alias("example.org", "A", "www.example.org.", id)),
		chg(types.ChangeActionCreate, alias("lb.example.org", "A", "x.elb.us-east-1.amazonaws.com", "Z35SXDOTRQ7X7K")))
	wantKeys(t, m, id, "example.org. A", "example.org. AAAA", "lb.example.org. A", "www.example.org. A", "www.example.org. AAAA")
}

func TestRoute53RulesInvalidInput(t *testing.T) {
	m, c, id := newRulesZone(t)
	noPolicy := rrs("a.example.org", "A", 60, "192.0.2.1")
	noPolicy.SetIdentifier = aws.String("one")
	noID := rrs("a.example.org", "A", 60, "192.0.2.1")
	noID.Weight = aws.Int64(1)
	two := weighted("a.example.org", "one", 1, "192.0.2.1")
	two.Region = types.ResourceRecordSetRegionUsEast1
	badFailover := rrs("a.example.org", "A", 60, "192.0.2.1")
	badFailover.SetIdentifier, badFailover.Failover = aws.String("one"), "TERTIARY"
	noTTL := rrs("a.example.org", "A", 60, "192.0.2.1")
	noTTL.TTL = nil
	for _, tc := range []struct {
		set  types.ResourceRecordSet
		want string
	}{
		{noPolicy, "Invalid request: Expected exactly one of [Weight, Region, Failover, GeoLocation, MultiValueAnswer, GeoProximityLocation, or CidrRoutingConfig], but found none in Change with [Action=CREATE, Name=a.example.org, Type=A, SetIdentifier=one]"},
		{noID, "Invalid request: Missing field 'SetIdentifier' in Change with [Action=CREATE, Name=a.example.org, Type=A, SetIdentifier=null]"},
		{two, "but found more than one in Change with"},
		{badFailover, "Value 'TERTIARY' at 'changeBatch.changes.2.member.resourceRecordSet.failover' failed to satisfy constraint: Member must satisfy enum value set: [SECONDARY, PRIMARY]"},
		{weighted("a.example.org", "one", 256, "192.0.2.1"), "Value '256' at 'changeBatch.changes.2.member.resourceRecordSet.weight' failed to satisfy constraint: Member must have value less than or equal to 255"},
		{noTTL, "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none"},
	} {
		err := changeBatch(c, id, chg(types.ChangeActionCreate, rrs("ok.example.org", "A", 60, "192.0.2.1")), chg(types.ChangeActionCreate, tc.set))
		wantInvalidInput(t, err, tc.want)
	}
	mustChange(t, c, id, chg(types.ChangeActionCreate, weighted("a.example.org", "zero", 0, "192.0.2.1")), chg(types.ChangeActionCreate, weighted("a.example.org", "max", 255, "192.0.2.2")))
	wantKeys(t, m, id, "a.example.org. A zero", "a.example.org. A max")
	if n := len(m.Rules.Rejections()); n != 6 {
		t.Errorf("%d rejections recorded, want 6", n)
	}
}

// TestRoute53RulesRoundTrip: record sets of every routing policy moto keeps
// are listed back as written and can be deleted with what the listing says.
func TestRoute53RulesRoundTrip(t *testing.T) {
	m, c, id := newRulesZone(t)
	var sets []types.ResourceRecordSet
	sets = append(sets, weighted("weighted.example.org", "a", 0, "192.0.2.1"), weighted("weighted.example.org", "b", 255, "192.0.2.2"))
	for i, r := range []types.ResourceRecordSetRegion{types.ResourceRecordSetRegionUsEast1, types.ResourceRecordSetRegionEuWest1} {
		s := rrs("latency.example.org", "AAAA", 60, fmt.Sprintf("2001:db8::%d", i+1))
		s.SetIdentifier, s.Region = aws.String(string(r)), r
		sets = append(sets, s)
	}
	for _, role := range []types.ResourceRecordSetFailover{types.ResourceRecordSetFailoverPrimary, types.ResourceRecordSetFailoverSecondary} {
		s := rrs("failover.example.org", "A", 60, "192.0.2.10")
		s.SetIdentifier, s.Failover = aws.String(strings.ToLower(string(role))), role
		if role == types.ResourceRecordSetFailoverPrimary {
			s.HealthCheckId = aws.String("11111111-2222-3333-4444-555555555555")
		}
		sets = append(sets, s)
	}
	for _, g := range []types.GeoLocation{{ContinentCode: aws.String("EU")}, {CountryCode: aws.String("US"), SubdivisionCode: aws.String("WA")}, {CountryCode: aws.String("*")}} {
		s := rrs("geo.example.org", "TXT", 60, `"`+aws.ToString(g.ContinentCode)+aws.ToString(g.CountryCode)+`"`)
		s.SetIdentifier, s.GeoLocation = aws.String(aws.ToString(g.ContinentCode)+aws.ToString(g.CountryCode)+aws.ToString(g.SubdivisionCode)), &g
		sets = append(sets, s)
	}
	for i := range 3 {
		s := rrs("multi.example.org", "A", 60, fmt.Sprintf("192.0.2.%d", 20+i))
		s.SetIdentifier, s.MultiValueAnswer = aws.String(fmt.Sprint("m", i)), aws.Bool(true)
		sets = append(sets, s)
	}
	alias := types.ResourceRecordSet{Name: aws.String("alias-w.example.org"), Type: types.RRTypeA, SetIdentifier: aws.String("x"), Weight: aws.Int64(5),
		AliasTarget: &types.AliasTarget{HostedZoneId: aws.String("Z26RNL4JYFTOTI"), DNSName: aws.String("nlb-1.elb.us-east-1.amazonaws.com."), EvaluateTargetHealth: true}}
	sets = append(sets, alias)
	var changes []types.Change
	var want []string
	for _, s := range sets {
		changes = append(changes, chg(types.ChangeActionCreate, s))
		want = append(want, aws.ToString(s.Name)+". "+string(s.Type)+" "+aws.ToString(s.SetIdentifier))
	}
	mustChange(t, c, id, changes...)
	wantKeys(t, m, id, want...)
	listed := listAll(t, c, id)
	for _, s := range sets {
		k := aws.ToString(s.Name) + ". " + string(s.Type) + " " + aws.ToString(s.SetIdentifier)
		got := listed[k]
		if fmt.Sprint(aws.ToInt64(got.Weight), got.Region, got.Failover, got.GeoLocation != nil, aws.ToBool(got.MultiValueAnswer), aws.ToString(got.HealthCheckId), aws.ToInt64(got.TTL)) !=
			fmt.Sprint(aws.ToInt64(s.Weight), s.Region, s.Failover, s.GeoLocation != nil, aws.ToBool(s.MultiValueAnswer), aws.ToString(s.HealthCheckId), aws.ToInt64(s.TTL)) {
			t.Errorf("%s listed as %+v, written as %+v", k, got, s)
		}
		if s.GeoLocation != nil && (got.GeoLocation == nil || aws.ToString(got.GeoLocation.CountryCode) != aws.ToString(s.GeoLocation.CountryCode) || aws.ToString(got.GeoLocation.SubdivisionCode) != aws.ToString(s.GeoLocation.SubdivisionCode) || aws.ToString(got.GeoLocation.ContinentCode) != aws.ToString(s.GeoLocation.ContinentCode)) {
			t.Errorf("%s geolocation listed as %+v, written as %+v", k, got.GeoLocation, s.GeoLocation)
		}
	}
	// Delete them one by one, with what the listing says.
	for i, s := range sets {
		k := aws.ToString(s.Name) + ". " + string(s.Type) + " " + aws.ToString(s.SetIdentifier)
		mustChange(t, c, id, chg(types.ChangeActionDelete, listed[k]))
		wantKeys(t, m, id, want[i+1:]...)
	}
}

// TestRoute53RulesListDuringBatch: a List never sees part of a batch.
func TestRoute53RulesListDuringBatch(t *testing.T) {
	m, c, id := newRulesZone(t)
	const n = 240 // with SOA and NS, one page of 300
	batch := func(action types.ChangeAction, round int) []types.Change {
		var out []types.Change
		for i := range n {
			out = append(out, chg(action, rrs(fmt.Sprintf("bulk-%03d.example.org", i), "A", 60, fmt.Sprintf("192.0.2.%d", round%250+1))))
		}
		return out
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var lists, partial atomic.Int32
	var bad sync.Map
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lc := Route53Client(m.URL)
			for ctx.Err() == nil {
				out, err := lc.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(id), MaxItems: aws.Int32(300)})
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("list %d: %v", g, err)
					}
					return
				}
				lists.Add(1)
				count, values := 0, map[string]int{}
				for _, s := range out.ResourceRecordSets {
					if strings.HasPrefix(aws.ToString(s.Name), "bulk-") {
						count++
						values[aws.ToString(s.ResourceRecords[0].Value)]++
					}
				}
				if (count != 0 && count != n) || len(values) > 1 {
					partial.Add(1)
					bad.Store(fmt.Sprint(count, " ", values), true)
				}
			}
		}()
	}
	for round := range 6 {
		switch round % 3 {
		case 0:
			mustChange(t, c, id, batch(types.ChangeActionCreate, round)...)
		case 1:
			mustChange(t, c, id, batch(types.ChangeActionUpsert, round)...)
		case 2:
			mustChange(t, c, id, batch(types.ChangeActionDelete, round-1)...)
		}
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	wg.Wait()
	if partial.Load() > 0 {
		var seen []string
		bad.Range(func(k, _ any) bool { seen = append(seen, k.(string)); return true })
		t.Errorf("%d of %d lists saw part of a batch: %v", partial.Load(), lists.Load(), seen)
	}
	t.Logf("%d lists during 6 batches of %d changes", lists.Load(), n)
	if lists.Load() < 6 {
		t.Errorf("only %d lists ran", lists.Load())
	}
	wantKeys(t, m, id)
}

// TestRoute53RulesAtomicOnMotoLimit: a batch of many records, more than one
// call to moto, is still seen whole; a batch above Route 53's limit is
// rejected.
func TestRoute53RulesLimits(t *testing.T) {
	m, c, id := newRulesZone(t)
	var changes []types.Change
	for i := range 500 {
		changes = append(changes, chg(types.ChangeActionUpsert, rrs(fmt.Sprintf("u-%03d.example.org", i), "A", 60, "192.0.2.1")))
	}
	mustChange(t, c, id, changes...)
	changes = append(changes, chg(types.ChangeActionUpsert, rrs("u-500.example.org", "A", 60, "192.0.2.1")))
	wantInvalidChangeBatch(t, changeBatch(c, id, changes...), "Number of records limit of 1000 exceeded.")
	if got := len(keysOf(listAll(t, c, id))); got != 500 {
		t.Errorf("%d record sets, want 500", got)
	}
	checkMoto(t, m, id)
}

// TestRoute53RulesWaiter: GetChange answers, for the SDK's waiter.
func TestRoute53RulesWaiter(t *testing.T) {
	_, c, id := newRulesZone(t)
	out, err := c.ChangeResourceRecordSets(context.Background(), &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(id), ChangeBatch: &types.ChangeBatch{Changes: []types.Change{chg(types.ChangeActionCreate, rrs("a.example.org", "A", 60, "192.0.2.1"))}},
	})
	if err != nil {
		t.Fatal(err)
	}
	w := route53.NewResourceRecordSetsChangedWaiter(c, func(o *route53.ResourceRecordSetsChangedWaiterOptions) { o.MinDelay = 100 * time.Millisecond })
	if err := w.Wait(context.Background(), &route53.GetChangeInput{Id: out.ChangeInfo.Id}, 10*time.Second); err != nil {
		t.Errorf("waiting for change %s: %v", aws.ToString(out.ChangeInfo.Id), err)
	}
}

// TestRoute53RulesBehindFaultProxy: a FaultProxy in front of the rules
// passes their rejections on and counts them.
func TestRoute53RulesBehindFaultProxy(t *testing.T) {
	m, c, id := newRulesZone(t)
	p := StartFaultProxy(t, m.URL)
	pc := Route53Client(p.URL)
	mustChange(t, pc, id, chg(types.ChangeActionCreate, rrs("a.example.org", "A", 60, "192.0.2.1")))
	wantInvalidChangeBatch(t, changeBatch(pc, id, chg(types.ChangeActionCreate, rrs("a.example.org", "A", 60, "192.0.2.1"))), "but it already exists")
	reqs := p.Requests()
	if len(reqs) != 2 || !reqs[0].Applied() || reqs[1].Applied() || reqs[1].Status != 400 {
		t.Errorf("fault proxy saw %+v", reqs)
	}
	wantKeys(t, m, id, "a.example.org. A")
	_ = c
}

// TestRoute53RulesPaging: pages of record sets with set identifiers go on
// with NextRecordIdentifier, as on Route 53 (moto alone repeats the record
// sets of a name and type split across pages).
func TestRoute53RulesPaging(t *testing.T) {
	m, c, id := newRulesZone(t)
	var changes []types.Change
	var want []string
	for i := range 7 {
		changes = append(changes, chg(types.ChangeActionCreate, weighted("w.example.org", fmt.Sprint("w", i), int64(i), "192.0.2.1")))
		want = append(want, fmt.Sprintf("w.example.org. A w%d", i))
	}
	for _, n := range []string{"a", "z", "*.m"} {
		changes = append(changes, chg(types.ChangeActionCreate, rrs(n+".example.org", "A", 60, "192.0.2.2")))
		want = append(want, presentName(canonName(n+".example.org"))+" A")
	}
	mustChange(t, c, id, changes...)
	for _, size := range []int32{1, 2, 3, 300} {
		var got []string
		p := route53.NewListResourceRecordSetsPaginator(c, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(id), MaxItems: aws.Int32(size)})
		pages := 0
		for p.HasMorePages() && pages < 100 {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(page.ResourceRecordSets) > int(size) {
				t.Errorf("page of %d record sets, asked for %d", len(page.ResourceRecordSets), size)
			}
			for _, s := range page.ResourceRecordSets {
				if s.Type == types.RRTypeSoa || s.Type == types.RRTypeNs {
					continue
				}
				k := aws.ToString(s.Name) + " " + string(s.Type)
				if s.SetIdentifier != nil {
					k += " " + *s.SetIdentifier
				}
				got = append(got, k)
			}
		}
		slices.Sort(got)
		if w := slices.Sorted(slices.Values(want)); !slices.Equal(got, w) {
			t.Errorf("pages of %d: listed\n  %s\nwant\n  %s", size, strings.Join(got, "\n  "), strings.Join(w, "\n  "))
		}
	}
	wantKeys(t, m, id, want...)
}

// TestRoute53RulesKeepsGeoproximity: moto drops a record set's
// GeoProximityLocation; a listing through the rules has it back, as Route
// 53 would, and a DELETE must name it.
func TestRoute53RulesKeepsGeoproximity(t *testing.T) {
	m, c, id := newRulesZone(t)
	gp := rrs("gp.example.org", "A", 60, "192.0.2.1")
	gp.SetIdentifier = aws.String("use1")
	gp.GeoProximityLocation = &types.GeoProximityLocation{AWSRegion: aws.String("us-east-1"), Bias: aws.Int32(10)}
	mustChange(t, c, id, chg(types.ChangeActionCreate, gp))
	var got *types.GeoProximityLocation
	for _, s := range listAll(t, c, id) {
		if aws.ToString(s.Name) == "gp.example.org." {
			got = s.GeoProximityLocation
		}
	}
	if got == nil || aws.ToString(got.AWSRegion) != "us-east-1" || aws.ToInt32(got.Bias) != 10 {
		t.Fatalf("listed GeoProximityLocation %+v, want us-east-1 with bias 10", got)
	}
	for _, s := range listAll(t, Route53Client(m.ServerURL), id) {
		if aws.ToString(s.Name) == "gp.example.org." && s.GeoProximityLocation != nil {
			t.Logf("moto now keeps GeoProximityLocation itself")
		}
	}
	other := gp
	other.GeoProximityLocation = &types.GeoProximityLocation{AWSRegion: aws.String("us-east-1"), Bias: aws.Int32(20)}
	wantInvalidChangeBatch(t, changeBatch(c, id, chg(types.ChangeActionDelete, other)),
		"Tried to delete resource record set [name='gp.example.org.', type='A', set-identifier='use1'] but the values provided do not match the current values")
	mustChange(t, c, id, chg(types.ChangeActionDelete, gp))
	wantKeys(t, m, id)
}
