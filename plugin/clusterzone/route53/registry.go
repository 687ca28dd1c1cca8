package route53

import (
	"fmt"
	"sort"
	"strings"
)

// The TXT registry of ExternalDNS: who owns a record is written in a TXT
// record next to it, "heritage=external-dns,external-dns/owner=OWNER,
// external-dns/resource=KIND/NAMESPACE/NAME". The TXT's name is the record's
// name with the lower-case record type and a dash in front of the first label
// ("a-web.example.org." for the A record of "web.example.org."), optionally
// with a prefix or a suffix (which may hold the "%{record_type}" template).
// Old ExternalDNS versions put the TXT at the record's own name; those are
// still read (for every type but AAAA, as ExternalDNS does).

const (
	heritage       = "external-dns"
	recordTemplate = "%{record_type}"
	ownerLabel     = "owner"
	resourceLabel  = "resource"
	// txtTTL is the TTL of the ownership TXT records, ExternalDNS's default.
	txtTTL = 300
)

// registry names and reads the ownership TXT records.
type registry struct {
	owner    string
	prefix   string
	suffix   string
	wildcard string
}

func newRegistry(cfg Config) registry {
	return registry{
		owner:    cfg.OwnerID,
		prefix:   strings.ToLower(cfg.TXTPrefix),
		suffix:   strings.ToLower(cfg.TXTSuffix),
		wildcard: strings.ToLower(cfg.TXTWildcard),
	}
}

// validAffix checks the TXT prefix and suffix options.
func validAffix(cfg Config) error {
	for _, a := range []string{cfg.TXTPrefix, cfg.TXTSuffix} {
		s := strings.ReplaceAll(a, recordTemplate, "a")
		for _, r := range s {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
				return fmt.Errorf("txt prefix/suffix %q may only hold letters, digits, '-', '_', '.' and %s", a, recordTemplate)
			}
		}
		if strings.Contains(s, "..") {
			return fmt.Errorf("txt prefix/suffix %q has an empty label", a)
		}
	}
	if strings.HasPrefix(cfg.TXTSuffix, ".") {
		return fmt.Errorf("txt-suffix %q must not start with a dot", cfg.TXTSuffix)
	}
	return nil
}

func (r registry) typeInAffix() bool {
	return strings.Contains(r.prefix, recordTemplate) || strings.Contains(r.suffix, recordTemplate)
}

// txtName is the name of the ownership TXT of the record name/typ, as
// ExternalDNS's AffixNameMapper.ToTXTName makes it (split at the first dot).
func (r registry) txtName(name, typ string) string {
	host, domain, _ := strings.Cut(strings.TrimSuffix(name, "."), ".")
	t := strings.ToLower(typ)
	prefix := strings.ReplaceAll(r.prefix, recordTemplate, t)
	suffix := strings.ReplaceAll(r.suffix, recordTemplate, t)
	if r.wildcard != "" && host == "*" {
		host = r.wildcard
	}
	if !r.typeInAffix() {
		host = t + "-" + host
	}
	out := prefix + host + suffix
	if domain != "" {
		out += "." + domain
	}
	return out + "."
}

// recordsOf returns the (name, type) pairs, among types, whose ownership TXT
// would be named txt. It inverts txtName.
func (r registry) recordsOf(txt string, types ...string) []rrKey {
	var out []rrKey
	for _, typ := range types {
		t := strings.ToLower(typ)
		prefix := strings.ReplaceAll(r.prefix, recordTemplate, t)
		suffix := strings.ReplaceAll(r.suffix, recordTemplate, t)
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
		if !r.typeInAffix() {
			if host, ok = strings.CutPrefix(host, t+"-"); !ok {
				continue
			}
		}
		domain := ""
		if len(parts) > dots+1 {
			domain = "." + parts[dots+1]
		}
		cands := []string{host}
		if r.wildcard != "" && host == r.wildcard {
			cands = append(cands, "*")
		}
		for _, h := range cands {
			name := h + domain + "."
			if r.txtName(name, typ) == txt {
				out = append(out, rrKey{name, typ})
			}
		}
	}
	return out
}

// value is the ownership TXT value (with its quotes) for a record of resource.
func (r registry) value(resource string) string {
	labels := map[string]string{ownerLabel: r.owner}
	if resource != "" {
		labels[resourceLabel] = resource
	}
	return serializeLabels(labels)
}

// serializeLabels writes labels in ExternalDNS's format, keys sorted.
func serializeLabels(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(`"heritage=` + heritage)
	for _, k := range keys {
		b.WriteString("," + heritage + "/" + k + "=" + labels[k])
	}
	b.WriteString(`"`)
	return b.String()
}

// parseLabels reads an ownership TXT value. ok is false when the value is not
// an ExternalDNS registry record (no heritage=external-dns).
func parseLabels(value string) (labels map[string]string, ok bool) {
	labels = map[string]string{}
	found := false
	for _, tok := range strings.Split(unquoteTXT(value), ",") {
		k, v, ok := strings.Cut(tok, "=")
		if !ok || strings.Contains(v, "=") {
			continue
		}
		if k == "heritage" {
			if v != heritage {
				return nil, false
			}
			found = true
			continue
		}
		if key, ok := strings.CutPrefix(k, heritage+"/"); ok {
			labels[key] = v
		}
	}
	if !found {
		return nil, false
	}
	return labels, true
}

// unquoteTXT joins the character-strings of a TXT value as Route 53 lists it
// ("a" "b" -> ab) and undoes its escapes.
func unquoteTXT(v string) string {
	v = strings.TrimSpace(v)
	if !strings.HasPrefix(v, `"`) {
		return v
	}
	var b strings.Builder
	in := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && i+3 < len(v) && isOctal(v[i+1]) && isOctal(v[i+2]) && isOctal(v[i+3]):
			b.WriteByte((v[i+1]-'0')<<6 | (v[i+2]-'0')<<3 | (v[i+3] - '0'))
			i += 3
		case c == '\\' && i+1 < len(v):
			i++
			b.WriteByte(v[i])
		case c == '"':
			in = !in
		case in:
			b.WriteByte(c)
		}
	}
	return b.String()
}
