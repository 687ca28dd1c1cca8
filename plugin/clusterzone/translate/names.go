package translate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// hostname validates and canonicalizes a DNS name: lower case, fully
// qualified, LDH labels of 1..63 octets (a leading "*" label is allowed).
func hostname(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == "." {
		return "", false
	}
	s = dns.Fqdn(s)
	if len(s) > 254 {
		return "", false
	}
	labels := strings.Split(strings.TrimSuffix(s, "."), ".")
	if allDigits(labels[len(labels)-1]) {
		// No top-level domain is all digits (RFC 3696 section 2): this is a
		// mistyped address ("999.1.1.1", "1.2.3.4.5"), not a name.
		return "", false
	}
	for i, l := range labels {
		if i == 0 && l == "*" && len(labels) > 1 {
			continue
		}
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", false
			}
		}
	}
	return s, true
}

// inZones reports whether name is at or below one of zones.
func inZones(name string, zones []string) bool {
	if strings.HasPrefix(name, "*.") && slices.Contains(zones, name[2:]) {
		return false // a wildcard at the apex would cover the zone's own SOA/NS
	}
	for _, z := range zones {
		if dns.IsSubDomain(z, name) {
			return true
		}
	}
	return false
}

// allowed applies the tenancy rules to name published from namespace ns; it
// returns the deciding rule.
func allowed(name, ns string, rules []Allow) (Allow, bool) {
	var best Allow
	for _, a := range rules {
		if len(a.Suffix) > len(best.Suffix) && dns.IsSubDomain(a.Suffix, name) {
			best = a
		}
	}
	if best.Suffix == "" {
		return best, true
	}
	return best, slices.Contains(best.Namespaces, ns)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func allDigits(l string) bool {
	for _, c := range l {
		if c < '0' || c > '9' {
			return false
		}
	}
	return l != ""
}

// maxQuoted is the most characters of a value quoted in a log line or an
// Event.
const maxQuoted = 100

// quote quotes a value for a message, cut to maxQuoted characters with its
// length said, so that a 60 KB annotation does not fill a log line.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q... (%d characters)", s[:maxQuoted], len(s))
}
