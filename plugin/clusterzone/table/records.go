package table

import (
	"net/netip"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/externaldns"

	"github.com/miekg/dns"
)

// aRecord and aaaaRecord are an address record and its address bytes, in
// one allocation.
type aRecord struct {
	rr dns.A
	ip [4]byte
}

type aaaaRecord struct {
	rr dns.AAAA
	ip [16]byte
}

// txtRecord is an ownership record and its one string, in one allocation.
type txtRecord struct {
	rr  dns.TXT
	txt [1]string
}

// Records returns e's records of type qtype (A, AAAA, SRV, CNAME or TXT) in view v,
// named name: the entry's own name, or the query name when e answers for a
// wildcard (RFC 4592). The records are new: the caller may modify them. Nil
// when there are none.
func (t *Table) Records(e *Entry, qtype uint16, v View, name string) []dns.RR {
	hdr := dns.RR_Header{Name: name, Rrtype: qtype, Class: dns.ClassINET, Ttl: e.Set.TTL}
	switch qtype {
	case dns.TypeA, dns.TypeAAAA:
		var buf [8]netip.Addr
		all := e.addrs(buf[:0], v)
		want4 := qtype == dns.TypeA
		n := 0
		for _, ip := range all {
			if ip.Is4() == want4 {
				n++
			}
		}
		if n == 0 {
			return nil
		}
		out := make([]dns.RR, 0, n)
		if want4 {
			recs := make([]aRecord, n)
			for _, ip := range all {
				if ip.Is4() {
					r := &recs[len(out)]
					r.ip = ip.As4()
					r.rr = dns.A{Hdr: hdr, A: r.ip[:]}
					out = append(out, &r.rr)
				}
			}
			return out
		}
		recs := make([]aaaaRecord, n)
		for _, ip := range all {
			if ip.Is6() {
				r := &recs[len(out)]
				r.ip = ip.As16()
				r.rr = dns.AAAA{Hdr: hdr, AAAA: r.ip[:]}
				out = append(out, &r.rr)
			}
		}
		return out
	case dns.TypeSRV:
		if e.Set.Refs == nil || len(e.Set.Refs.SRV) == 0 || v == Internal {
			return nil
		}
		out := make([]dns.RR, len(e.Set.Refs.SRV))
		recs := make([]dns.SRV, len(e.Set.Refs.SRV))
		for i, s := range e.Set.Refs.SRV {
			recs[i] = dns.SRV{Hdr: hdr, Priority: s.Priority, Weight: s.Weight, Port: s.Port, Target: s.Target}
			out[i] = &recs[i]
		}
		return out
	case dns.TypeCNAME:
		if c := e.Set.CNAME(); c != "" {
			return []dns.RR{&dns.CNAME{Hdr: hdr, Target: c}}
		}
		return nil
	case dns.TypeTXT:
		if e.Set.CNAME() != "" {
			return nil
		}
		r := &txtRecord{}
		r.txt[0] = externaldns.OwnershipTXT(t.ownerID, e.Owner.Key)
		r.rr = dns.TXT{Hdr: hdr, Txt: r.txt[:]}
		return []dns.RR{&r.rr}
	}
	return nil
}

// All returns every record of e in view v: A, AAAA, SRV, CNAME, then TXT,
// named after e.
func (t *Table) All(e *Entry, v View) []dns.RR {
	var out []dns.RR
	for _, qt := range [...]uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypeCNAME, dns.TypeTXT} {
		out = append(out, t.Records(e, qt, v, e.Set.Name)...)
	}
	return out
}
