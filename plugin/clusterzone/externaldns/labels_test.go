package externaldns

import "testing"

func TestLabels(t *testing.T) {
	const want = "heritage=external-dns,external-dns/owner=cluster-1,external-dns/resource=service/default/web"
	if v := (Labels{LabelOwner: "cluster-1", LabelResource: ServiceResource("default/web")}).String(); v != want {
		t.Fatalf("String = %s, want %s", v, want)
	}
	if v := OwnershipTXT("cluster-1", "default/web"); v != want {
		t.Fatalf("OwnershipTXT = %s, want %s", v, want)
	}
	for _, tc := range []struct {
		in, owner, kind string
		ok              bool
	}{
		{want, "cluster-1", "service", true},
		{"heritage=external-dns,external-dns/owner=other,external-dns/resource=ingress/shop/front", "other", "ingress", true},
		{"heritage=external-dns,external-dns/owner=bare", "bare", "", true},
		{"heritage=someone-else,external-dns/owner=x", "", "", false},
		{"v=spf1 include:_spf.example.org ~all", "", "", false},
		{"external-dns/owner=no-heritage", "", "", false},
	} {
		l, ok := ParseLabels(tc.in)
		if ok != tc.ok || l.Owner() != tc.owner || l.ResourceKind() != tc.kind {
			t.Errorf("ParseLabels(%s) = %v, %t; want owner %q kind %q, %t", tc.in, l, ok, tc.owner, tc.kind, tc.ok)
		}
	}
	if MaxOwnerIDLen != 56 {
		t.Errorf("MaxOwnerIDLen = %d, want 56 (255 octets for a Service with a 63-character namespace and name)", MaxOwnerIDLen)
	}
}
