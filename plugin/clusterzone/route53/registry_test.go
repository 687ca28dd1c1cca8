package route53

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
		r := registry{prefix: tc.prefix, suffix: tc.suffix, wildcard: tc.wildcard}
		got := r.txtName(tc.name, tc.typ)
		if got != tc.want {
			t.Errorf("prefix %q suffix %q: txtName(%s, %s) = %s, want %s", tc.prefix, tc.suffix, tc.name, tc.typ, got, tc.want)
			continue
		}
		if tc.typ == "CNAME" {
			continue
		}
		back := r.recordsOf(got, "A", "AAAA")
		wantBack := []rrKey{{tc.name, tc.typ}}
		if tc.wildcard != "" {
			// The replacement label is ambiguous: both names map there.
			wantBack = []rrKey{{"wild.apps.example.org.", tc.typ}, {tc.name, tc.typ}}
		}
		if !reflect.DeepEqual(back, wantBack) {
			t.Errorf("prefix %q suffix %q: recordsOf(%s) = %v, want %s %s", tc.prefix, tc.suffix, got, back, tc.name, tc.typ)
		}
	}
	if got := (registry{}).recordsOf("web.example.org.", "A", "AAAA"); len(got) != 0 {
		t.Errorf("recordsOf a name without a type prefix = %v", got)
	}
}

func TestLabels(t *testing.T) {
	r := registry{owner: "cluster-1"}
	v := r.value("service/default/web")
	const want = `"heritage=external-dns,external-dns/owner=cluster-1,external-dns/resource=service/default/web"`
	if v != want {
		t.Fatalf("value = %s, want %s", v, want)
	}
	for _, tc := range []struct {
		in    string
		owner string
		ok    bool
	}{
		{want, "cluster-1", true},
		{`"heritage=external-dns,external-dns/owner=other"`, "other", true},
		{`heritage=external-dns,external-dns/owner=bare`, "bare", true},
		{`"heritage=external-dns,external-dns/owner=" "split"`, "split", true},
		{`"heritage=external-dns,external-dns/owner=x\044y"`, "x$y", true},
		{`"heritage=someone-else,external-dns/owner=x"`, "", false},
		{`"v=spf1 include:_spf.example.org ~all"`, "", false},
		{`"external-dns/owner=no-heritage"`, "", false},
	} {
		labels, ok := parseLabels(tc.in)
		if ok != tc.ok || labels[ownerLabel] != tc.owner {
			t.Errorf("parseLabels(%s) = %v, %t; want owner %q, %t", tc.in, labels, ok, tc.owner, tc.ok)
		}
	}
}

func TestCanonicalZone(t *testing.T) {
	for host, want := range map[string]string{
		"k8s-ns-svc-0123456789.elb.us-east-1.amazonaws.com":           "Z26RNL4JYFTOTI", // NLB
		"k8s-ns-svc-0123456789.elb.us-east-1.amazonaws.com.":          "Z26RNL4JYFTOTI",
		"my-alb-1234567890.us-east-1.elb.amazonaws.com":               "Z35SXDOTRQ7X7K", // ALB/CLB
		"dualstack.my-alb-1234567890.eu-west-1.elb.amazonaws.com":     "Z32O12XQLNTSW2",
		"internal-my-clb-1234567890.ap-southeast-2.elb.amazonaws.com": "Z1GM3OXH4ZPM65",
		"k8s-ns-svc-0123456789.elb.eu-central-1.amazonaws.com":        "Z3F0SRJ5LGBH90",
		"k8s-ns-svc-0123456789.elb.cn-north-1.amazonaws.com.cn":       "Z3QFB96KMJ7ED6",
		"my-alb-1234567890.cn-northwest-1.elb.amazonaws.com.cn":       "ZM7IZAIOVVDZF",
		"lb.example.com": "",
		"elb.us-east-1.amazonaws.com.example.com":              "",
		"k8s-ns-svc-0123456789.elb.mars-north-1.amazonaws.com": "",
	} {
		if got := canonicalZone(host); got != want {
			t.Errorf("canonicalZone(%s) = %q, want %q", host, got, want)
		}
	}
}

func TestUnescapeName(t *testing.T) {
	for in, want := range map[string]string{
		`\052.apps.example.org.`:   "*.apps.example.org.",
		`a-\052.apps.example.org.`: "a-*.apps.example.org.",
		`Web.Example.ORG.`:         "web.example.org.",
		`a\\b.example.org.`:        `a\b.example.org.`,
	} {
		if got := unescapeName(in); got != want {
			t.Errorf("unescapeName(%s) = %s, want %s", in, got, want)
		}
	}
}
