// Package clusterzone is a CoreDNS plugin that serves DNS records straight
// from cluster state: Kubernetes Services carrying ExternalDNS annotations
// (or Service manifest files), answered authoritatively from an in-memory
// dual-stack record table, and optionally mirrored to Amazon Route 53.
package clusterzone

import (
	"context"
	"net/netip"
	"strings"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/fall"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

// SOA timers of the zones (seconds).
const (
	soaRefresh = 7200
	soaRetry   = 1800
	soaExpire  = 1209600
)

// Clusterzone is the plugin handler of one server block.
type Clusterzone struct {
	Next  plugin.Handler
	Zones []string
	Fall  fall.F

	view    table.View
	nsAddrs []netip.Addr         // glue
	names   map[string]zoneNames // per zone, set by setNS

	shared *shared
	notify *notifier
}

// zoneNames are the names a zone's SOA and NS records carry, made once
// (negative answers carry the SOA).
type zoneNames struct {
	ns   string // the NS name
	mbox string // the SOA mailbox, hostmaster.<zone>
}

// setNS sets the NS name of every zone and its addresses; the default is
// ns1.<zone> with no addresses (a Service may publish them, or configure
// `ns`). With one zone, a name inside it stands for that label in the zone;
// otherwise the name is the NS name of every zone as it is.
func (cz *Clusterzone) setNS(name string, addrs []netip.Addr) {
	cz.nsAddrs = addrs
	label, absolute := "ns1", ""
	if name != "" {
		label, absolute = "", name
		if len(cz.Zones) == 1 && dns.IsSubDomain(cz.Zones[0], name) && name != cz.Zones[0] {
			label, absolute = strings.TrimSuffix(name, "."+cz.Zones[0]), ""
		}
	}
	cz.names = make(map[string]zoneNames, len(cz.Zones))
	for _, z := range cz.Zones {
		ns := absolute
		if label != "" {
			ns = label + "." + z
		}
		cz.names[z] = zoneNames{ns: ns, mbox: "hostmaster." + z}
	}
}

// nsFor returns the NS name of zone.
func (cz *Clusterzone) nsFor(zone string) string { return cz.names[zone].ns }

// ServeDNS implements the plugin.Handler interface.
func (cz *Clusterzone) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	state := request.Request{W: w, Req: r}
	qname := state.Name()
	zone := plugin.Zones(cz.Zones).Matches(qname)
	if zone == "" {
		return plugin.NextOrFailure(cz.Name(), cz.Next, ctx, w, r)
	}
	if qt := state.QType(); qt == dns.TypeAXFR || qt == dns.TypeIXFR {
		// Zone transfers are served by the transfer plugin when it is configured.
		return dns.RcodeRefused, nil
	}
	st := cz.shared.Store()
	if st == nil || !st.Synced() {
		// Not loaded yet: a SERVFAIL, never a false NXDOMAIN.
		return dns.RcodeServerFailure, nil
	}
	t := st.Table()
	qtype := state.QType()

	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	// An authoritative answer is not validated here: CD is not copied
	// (RFC 4035 section 3.1.6).
	m.CheckingDisabled = false
	if r.Opcode != dns.OpcodeQuery {
		// A NOTIFY to a primary is not taken (RFC 1996: NOTAUTH); any
		// other opcode is not implemented.
		m.Authoritative = false
		m.Rcode = dns.RcodeNotImplemented
		if r.Opcode == dns.OpcodeNotify {
			m.Rcode = dns.RcodeNotAuth
		}
		w.WriteMsg(m)
		return dns.RcodeSuccess, nil
	}

	answer, exists := cz.lookup(t, zone, qname, r.Question[0].Name, qtype)
	if !exists {
		if cz.Fall.Through(qname) {
			return plugin.NextOrFailure(cz.Name(), cz.Next, ctx, w, r)
		}
		m.Rcode = dns.RcodeNameError
	}
	negative := len(answer) == 0
	if !negative && qtype != dns.TypeCNAME && qtype != dns.TypeANY {
		var found bool
		answer, found, negative = cz.chase(t, zone, answer, qtype)
		if !found {
			// The rcode is that of the last name of the chain (RFC 6604).
			m.Rcode = dns.RcodeNameError
		}
	}
	m.Answer = answer
	if negative {
		// The SOA of a negative answer is read for its TTL, not compared:
		// it does not count as a read of the serial (see table.Serial).
		m.Ns = []dns.RR{cz.soaWith(zone, t.PeekSerial(zone))}
	} else if qname == zone && qtype == dns.TypeNS {
		m.Extra = cz.glue(zone)
	} else {
		m.Extra = cz.targets(t, zone, answer)
	}
	if len(m.Answer)+len(m.Extra) > 1 && !fit(state, m) {
		log.Warningf("The answer for %s %s does not fit a DNS message (%d records): SERVFAIL; lower max-addresses", qname, dns.TypeToString[qtype], len(m.Answer))
		return dns.RcodeServerFailure, nil
	}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

// fit makes a multi-record answer fit what the client takes, whole RRsets
// or nothing (RFC 2181 section 9): compressed; then without the additional
// section (glue, SRV targets), which is optional; over UDP, an answer still
// larger than the client's buffer (EDNS, or bufsize) goes out empty with TC
// set, and the client asks again over TCP; over TCP, one larger than a
// message can hold does not fit (false).
func fit(state request.Request, m *dns.Msg) bool {
	m.Compress = true
	if m.Len() <= state.Size() {
		return true
	}
	if len(m.Extra) > 0 {
		// Additional data is optional: it goes first, without TC (RFC 2181
		// section 9).
		m.Extra = nil
		if m.Len() <= state.Size() {
			return true
		}
	}
	if state.Proto() == "tcp" {
		return false
	}
	m.Answer, m.Ns, m.Extra = nil, nil, nil
	m.Truncated = true
	return true
}

// lookup returns the answer records for qname/qtype and whether the name
// exists. The records carry asked, the query name as the client wrote it
// (qname lower-cased): every answer has its owner name as asked (RFC 4343,
// and resolvers' 0x20 case randomization), while the table is lower case.
func (cz *Clusterzone) lookup(t *table.Table, zone, qname, asked string, qtype uint16) ([]dns.RR, bool) {
	if qname == zone {
		switch qtype {
		case dns.TypeSOA:
			return named(asked, cz.soa(t, zone)), true
		case dns.TypeNS:
			return named(asked, cz.ns(zone)), true
		}
	}
	nsOwned := len(cz.nsAddrs) > 0
	if nsOwned && qname == cz.nsFor(zone) {
		return named(asked, filterType(cz.glue(zone), qtype)...), true
	}
	a := t.Lookup(zone, qname, cz.view)
	if (!a.Exists || a.Wildcard) && nsOwned && above(qname, cz.nsFor(zone)) {
		// An empty non-terminal above the NS name (RFC 8020), which the
		// table does not hold: it exists, and no wildcard covers it.
		return nil, true
	}
	if !a.Exists {
		return nil, false
	}
	if a.Entry == nil {
		if qname == zone && qtype == dns.TypeANY {
			return named(asked, cz.soa(t, zone)), true
		}
		return nil, true
	}
	// The records carry the query name as asked: for a wildcard the name
	// they are synthesized for (RFC 4592).
	if a.Entry.Set.CNAME() != "" {
		// An alias answers every type with its CNAME (RFC 1034 section
		// 3.6.2); the resolver follows it.
		return t.Records(a.Entry, dns.TypeCNAME, cz.view, asked), true
	}
	if qtype == dns.TypeANY {
		// RFC 8482: answer ANY with one RRset that exists rather than all of them.
		for _, qt := range [...]uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypeTXT} {
			if rrs := t.Records(a.Entry, qt, cz.view, asked); len(rrs) > 0 {
				return rrs, true
			}
		}
		return nil, true
	}
	return t.Records(a.Entry, qtype, cz.view, asked), true
}

// targets returns the addresses (A and AAAA) of the targets of the SRV
// records in answer that are inside zone, for the additional section (RFC
// 2782, RFC 1034 section 4.3.2 step 6; as Knot and the file plugin do), so
// that a client needs no second query.
func (cz *Clusterzone) targets(t *table.Table, zone string, answer []dns.RR) []dns.RR {
	var out []dns.RR
	for i, rr := range answer {
		srv, ok := rr.(*dns.SRV)
		if !ok {
			continue
		}
		target := strings.ToLower(srv.Target)
		if target != zone && !above(zone, target) {
			continue
		}
		dup := false
		for _, prev := range answer[:i] {
			if p, ok := prev.(*dns.SRV); ok && strings.EqualFold(p.Target, target) {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		for _, qt := range [...]uint16{dns.TypeA, dns.TypeAAAA} {
			recs, _ := cz.lookup(t, zone, target, srv.Target, qt)
			for _, r := range recs {
				if r.Header().Rrtype == qt {
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// maxChase bounds the CNAMEs followed in one answer (a loop, or a long
// chain, ends there; the resolver asks again for the last target).
const maxChase = 8

// chase follows a CNAME that answer ends with while its target is inside
// zone (RFC 1034 section 4.3.2, step 3a; as the file plugin and Knot do):
// the target's records of qtype are added, and so on for a CNAME there. It
// returns the answer, whether the last target exists (an NXDOMAIN there is
// the rcode of the whole answer, RFC 6604), and whether the chain ends
// without records of qtype (a negative answer: the SOA goes in authority).
// A target outside the zone ends the chain: the resolver follows it.
func (cz *Clusterzone) chase(t *table.Table, zone string, answer []dns.RR, qtype uint16) ([]dns.RR, bool, bool) {
	for hops := 0; hops < maxChase; hops++ {
		c, ok := answer[len(answer)-1].(*dns.CNAME)
		if !ok {
			return answer, true, false
		}
		target := strings.ToLower(c.Target)
		if target != zone && !above(zone, target) {
			return answer, true, false
		}
		for _, rr := range answer {
			if strings.EqualFold(rr.Header().Name, target) {
				return answer, true, false // a loop
			}
		}
		more, exists := cz.lookup(t, zone, target, c.Target, qtype)
		if !exists {
			return answer, false, true
		}
		if len(more) == 0 {
			return answer, true, true
		}
		answer = append(answer, more...)
	}
	return answer, true, false
}

// above reports whether name is a proper ancestor of child; both are
// lower-case FQDNs. Unlike dns.IsSubDomain it does not allocate (it runs for
// every NXDOMAIN and wildcard answer).
func above(name, child string) bool {
	return len(child) > len(name) && strings.HasSuffix(child, name) && child[len(child)-len(name)-1] == '.'
}

// named renames rrs, records made for this answer, to owner.
func named(owner string, rrs ...dns.RR) []dns.RR {
	for _, rr := range rrs {
		rr.Header().Name = owner
	}
	return rrs
}

// soa returns the SOA record of zone with its current serial.
func (cz *Clusterzone) soa(t *table.Table, zone string) dns.RR {
	return cz.soaWith(zone, t.Serial(zone))
}

// soaWith returns the SOA record of zone with serial.
func (cz *Clusterzone) soaWith(zone string, serial uint32) dns.RR {
	ttl := cz.shared.cfg.translate.DefaultTTL
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: ttl},
		Ns:      cz.nsFor(zone),
		Mbox:    cz.names[zone].mbox,
		Serial:  serial,
		Refresh: soaRefresh,
		Retry:   soaRetry,
		Expire:  soaExpire,
		Minttl:  ttl,
	}
}

// ns returns the NS record of zone.
func (cz *Clusterzone) ns(zone string) dns.RR {
	return &dns.NS{
		Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: cz.shared.cfg.translate.DefaultTTL},
		Ns:  cz.nsFor(zone),
	}
}

// glue returns the A and AAAA records of the NS name.
func (cz *Clusterzone) glue(zone string) []dns.RR {
	name := cz.nsFor(zone)
	ttl := cz.shared.cfg.translate.DefaultTTL
	out := make([]dns.RR, 0, len(cz.nsAddrs))
	for _, ip := range cz.nsAddrs {
		if ip.Is4() {
			out = append(out, &dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl}, A: ip.AsSlice()})
		} else {
			out = append(out, &dns.AAAA{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: ttl}, AAAA: ip.AsSlice()})
		}
	}
	return out
}

// filterType returns the records of rrs of type qtype; for ANY, the whole
// RRset of the first record's type (RFC 8482: one RRset, never part of one).
func filterType(rrs []dns.RR, qtype uint16) []dns.RR {
	if qtype == dns.TypeANY && len(rrs) > 0 {
		qtype = rrs[0].Header().Rrtype
	}
	var out []dns.RR
	for _, rr := range rrs {
		if rr.Header().Rrtype == qtype {
			out = append(out, rr)
		}
	}
	return out
}

// Name implements the plugin.Handler interface.
func (cz *Clusterzone) Name() string { return pluginName }
