package externaldns

import (
	"sort"
	"strings"
)

// Heritage is the value of the heritage label of every ownership record.
const Heritage = "external-dns"

// The labels the mirror reads and writes.
const (
	// LabelOwner is the owner id (ExternalDNS's --txt-owner-id).
	LabelOwner = "owner"
	// LabelResource is the object a record comes from, KIND/NAMESPACE/NAME
	// ("service/default/web", "ingress/shop/front").
	LabelResource = "resource"
)

// ResourceService is the kind of resource clusterzone publishes from.
const ResourceService = "service"

// The ownership value of a Service is ownershipPrefix + owner id +
// ownershipResource + namespace/name: Labels{owner, resource}.String().
const (
	ownershipPrefix   = "heritage=" + Heritage + "," + Heritage + "/" + LabelOwner + "="
	ownershipResource = "," + Heritage + "/" + LabelResource + "=" + ResourceService + "/"
	// MaxOwnerIDLen is the longest owner id whose ownership TXT value fits
	// one TXT character-string (255 octets) for every Service, whose
	// namespace and name are at most 63 characters each:
	// 255 - 41 - 31 - (63 + 1 + 63) = 56.
	MaxOwnerIDLen = 255 - len(ownershipPrefix) - len(ownershipResource) - (63 + 1 + 63)
)

// OwnershipTXT is the ownership TXT value (one character-string, without
// quotes) of a Service's record: key is "namespace/name".
func OwnershipTXT(owner, key string) string {
	return ownershipPrefix + owner + ownershipResource + key
}

// ServiceResource is the resource label of the Service key
// ("namespace/name").
func ServiceResource(key string) string { return ResourceService + "/" + key }

// Labels are the key=value pairs of an ownership record, without the
// heritage.
type Labels map[string]string

// Owner returns the owner label.
func (l Labels) Owner() string { return l[LabelOwner] }

// ResourceKind returns the kind of the resource label ("service",
// "ingress", ...), "" when there is none.
func (l Labels) ResourceKind() string {
	kind, _, _ := strings.Cut(l[LabelResource], "/")
	return kind
}

// String serializes l as ExternalDNS does: the heritage, then the labels
// with their keys sorted, each as "external-dns/KEY=VALUE", comma-separated.
func (l Labels) String() string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("heritage=" + Heritage)
	for _, k := range keys {
		b.WriteString("," + Heritage + "/" + k + "=" + l[k])
	}
	return b.String()
}

// ParseLabels reads an ownership value (the text of a TXT record, its
// character-strings joined). ok is false when it is not an ExternalDNS
// registry record: no heritage=external-dns. Tokens that are not
// key=value, as ExternalDNS does, are skipped.
func ParseLabels(text string) (l Labels, ok bool) {
	l = Labels{}
	found := false
	for _, tok := range strings.Split(text, ",") {
		k, v, ok := strings.Cut(tok, "=")
		if !ok || strings.Contains(v, "=") {
			continue
		}
		if k == "heritage" {
			if v != Heritage {
				return nil, false
			}
			found = true
			continue
		}
		if key, ok := strings.CutPrefix(k, Heritage+"/"); ok {
			l[key] = v
		}
	}
	if !found {
		return nil, false
	}
	return l, true
}
