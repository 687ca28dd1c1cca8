package externaldns

import (
	"reflect"
	"testing"
)

func TestTXTName(t *testing.T) {
	for _, tc := range []struct {
		prefix, suffix, wildcard string
		name, typ, want          string
	}{
		{"", "", "", "web.example.org.", "A", "a-web.example.org."},
		{"", "", "", "web.example.org.", "AAAA", "aaaa-web.example.org."},
		{"", "", "", "lb.example.org.", "CNAME", "cname-lb.example.org."},
		{"", "", "", "*.apps.example.org.", "A", "a-*.apps.example.org."},
		{"", "", "wild", "*.apps.example.org.", "A", "a-wild.apps.example.org."},
		{"", "", "", "example.org.", "A", "a-example.org."}, // apex: outside the zone, as ExternalDNS makes it
		{"txt.", "", "", "web.example.org.", "A", "txt.a-web.example.org."},
		{"%{record_type}.", "", "", "web.example.org.", "AAAA", "aaaa.web.example.org."},
		{"%{record_type}.", "", "", "example.org.", "A", "a.example.org."}, // apex inside the zone
		{"", "-own", "", "web.example.org.", "A", "a-web-own.example.org."},
		{"", "-%{record_type}", "", "web.example.org.", "A", "web-a.example.org."},
		{"", ".txt", "", "web.example.org.", "A", "a-web.txt.example.org."},
	} {
		n := Naming{Prefix: tc.prefix, Suffix: tc.suffix, WildcardReplacement: tc.wildcard}
		got := n.TXTName(tc.name, tc.typ)
		if got != tc.want {
			t.Errorf("prefix %q suffix %q: TXTName(%s, %s) = %s, want %s", tc.prefix, tc.suffix, tc.name, tc.typ, got, tc.want)
			continue
		}
		if tc.typ == "CNAME" {
			continue
		}
		back := n.RecordsOf(got, "A", "AAAA")
		wantBack := []Record{{tc.name, tc.typ}}
		if tc.wildcard != "" {
			// The replacement label is ambiguous: both names map there.
			wantBack = []Record{{"wild.apps.example.org.", tc.typ}, {tc.name, tc.typ}}
		}
		if !reflect.DeepEqual(back, wantBack) {
			t.Errorf("prefix %q suffix %q: RecordsOf(%s) = %v, want %s %s", tc.prefix, tc.suffix, got, back, tc.name, tc.typ)
		}
	}
	if got := (Naming{}).RecordsOf("web.example.org.", "A", "AAAA"); len(got) != 0 {
		t.Errorf("RecordsOf a name without a type prefix = %v", got)
	}
}

func TestOwnershipNames(t *testing.T) {
	n := Naming{}
	for _, tc := range []struct {
		typ   string
		alias bool
		want  []OwnershipName
	}{
		{"A", false, []OwnershipName{{"a-lb.example.org.", true}, {"lb.example.org.", false}}},
		// ExternalDNS v0.20 names an ALIAS A record's TXT cname-, v0.22 a-.
		{"A", true, []OwnershipName{{"a-lb.example.org.", true}, {"cname-lb.example.org.", true}, {"lb.example.org.", false}}},
		{"AAAA", true, []OwnershipName{{"aaaa-lb.example.org.", true}}},
		{"AAAA", false, []OwnershipName{{"aaaa-lb.example.org.", true}}},
	} {
		if got := n.OwnershipNames("lb.example.org.", tc.typ, tc.alias); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("OwnershipNames(%s, alias %t) = %v, want %v", tc.typ, tc.alias, got, tc.want)
		}
	}
}

func TestNamingValidate(t *testing.T) {
	for _, tc := range []struct {
		n  Naming
		ok bool
	}{
		{Naming{}, true},
		{Naming{Prefix: "txt."}, true},
		{Naming{Suffix: "-%{record_type}"}, true},
		{Naming{Prefix: "a.", Suffix: "-b"}, false},
		{Naming{Prefix: "a..b"}, false},
		{Naming{Prefix: "a b"}, false},
		{Naming{Suffix: ".txt"}, false},
		{Naming{WildcardReplacement: "wild"}, true},
		{Naming{WildcardReplacement: "a.b"}, false},
	} {
		if err := tc.n.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v.Validate() = %v, want ok %t", tc.n, err, tc.ok)
		}
	}
}
