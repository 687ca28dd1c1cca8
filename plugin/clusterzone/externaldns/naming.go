package externaldns

import (
	"fmt"
	"strings"
)

// RecordTypeTemplate in a prefix or suffix stands for the lower-case record
// type (ExternalDNS's "%{record_type}").
const RecordTypeTemplate = "%{record_type}"

// Naming maps the name of a record to the name of its ownership TXT
// record, as ExternalDNS's AffixNameMapper does: the lower-case record type
// and a dash before the first label ("a-web.example.org." for the A record
// of "web.example.org."), unless the prefix or suffix holds
// RecordTypeTemplate; then the prefix before, or the suffix after, the first
// label. The zero Naming is ExternalDNS's default.
type Naming struct {
	// Prefix is --txt-prefix, lower-case.
	Prefix string
	// Suffix is --txt-suffix, lower-case.
	Suffix string
	// WildcardReplacement is --txt-wildcard-replacement: the label that
	// stands for a leading "*" in TXT names.
	WildcardReplacement string
}

// Validate checks the options as ExternalDNS's flags allow them.
func (n Naming) Validate() error {
	if n.Prefix != "" && n.Suffix != "" {
		return fmt.Errorf("txt-prefix and txt-suffix are mutually exclusive")
	}
	for _, a := range []string{n.Prefix, n.Suffix} {
		s := strings.ReplaceAll(a, RecordTypeTemplate, "a")
		for _, r := range s {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
				return fmt.Errorf("txt prefix/suffix %q may only hold lower-case letters, digits, '-', '_', '.' and %s", a, RecordTypeTemplate)
			}
		}
		if strings.Contains(s, "..") {
			return fmt.Errorf("txt prefix/suffix %q has an empty label", a)
		}
	}
	if strings.HasPrefix(n.Suffix, ".") {
		return fmt.Errorf("txt-suffix %q must not start with a dot", n.Suffix)
	}
	if strings.ContainsAny(n.WildcardReplacement, ".*") {
		return fmt.Errorf("txt-wildcard-replacement %q must be a single label without '*'", n.WildcardReplacement)
	}
	return nil
}

func (n Naming) typeInAffix() bool {
	return strings.Contains(n.Prefix, RecordTypeTemplate) || strings.Contains(n.Suffix, RecordTypeTemplate)
}

// TXTName is the name of the ownership TXT of the record name (lower-case
// FQDN) of type typ.
func (n Naming) TXTName(name, typ string) string {
	host, domain, _ := strings.Cut(strings.TrimSuffix(name, "."), ".")
	t := strings.ToLower(typ)
	prefix := strings.ReplaceAll(n.Prefix, RecordTypeTemplate, t)
	suffix := strings.ReplaceAll(n.Suffix, RecordTypeTemplate, t)
	if n.WildcardReplacement != "" && host == "*" {
		host = n.WildcardReplacement
	}
	if !n.typeInAffix() {
		host = t + "-" + host
	}
	out := prefix + host + suffix
	if domain != "" {
		out += "." + domain
	}
	return out + "."
}

// Record names one record: a name (lower-case FQDN) and a type.
type Record struct{ Name, Type string }

// RecordsOf returns the records, among types, whose ownership TXT would be
// named txt: it inverts TXTName. A wildcard and the name of its replacement
// label share one TXT name; both are returned.
func (n Naming) RecordsOf(txt string, types ...string) []Record {
	var out []Record
	for _, typ := range types {
		t := strings.ToLower(typ)
		prefix := strings.ReplaceAll(n.Prefix, RecordTypeTemplate, t)
		suffix := strings.ReplaceAll(n.Suffix, RecordTypeTemplate, t)
		rest, ok := strings.CutPrefix(strings.TrimSuffix(txt, "."), prefix)
		if !ok {
			continue
		}
		dots := strings.Count(suffix, ".")
		parts := strings.SplitN(rest, ".", dots+2)
		if len(parts) < dots+1 {
			continue
		}
		host, ok := strings.CutSuffix(strings.Join(parts[:dots+1], "."), suffix)
		if !ok {
			continue
		}
		if !n.typeInAffix() {
			if host, ok = strings.CutPrefix(host, t+"-"); !ok {
				continue
			}
		}
		domain := ""
		if len(parts) > dots+1 {
			domain = "." + parts[dots+1]
		}
		cands := []string{host}
		if n.WildcardReplacement != "" && host == n.WildcardReplacement {
			cands = append(cands, "*")
		}
		for _, h := range cands {
			name := h + domain + "."
			if n.TXTName(name, typ) == txt {
				out = append(out, Record{name, typ})
			}
		}
	}
	return out
}

// OwnershipName is a name that may hold the ownership TXT of a record.
type OwnershipName struct {
	// Name is the TXT record's name.
	Name string
	// Written is set for the names a registry writes for the record (and
	// removes with it); the others are only read.
	Written bool
}

// OwnershipNames returns, in the order ExternalDNS reads them, the names
// that may hold the ownership TXT of the record name/typ; alias is set for
// an AWS ALIAS record. For an ALIAS A record, ExternalDNS up to v0.21 writes
// and reads "cname-NAME" and v0.22 on "a-NAME": both are written, so that
// either generation finds its own. Old ExternalDNS versions (before v0.12)
// put the TXT at the record's own name; it is read for every type but AAAA,
// as ExternalDNS reads it, and never written or removed (it may describe
// records of other types too).
func (n Naming) OwnershipNames(name, typ string, alias bool) []OwnershipName {
	out := []OwnershipName{{n.TXTName(name, typ), true}}
	if alias && typ == "A" {
		out = append(out, OwnershipName{n.TXTName(name, "CNAME"), true})
	}
	if typ != "AAAA" {
		out = append(out, OwnershipName{name, false})
	}
	return out
}
