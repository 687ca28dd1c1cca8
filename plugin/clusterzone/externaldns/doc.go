// Package externaldns holds ExternalDNS's vocabulary, in one place for the
// served zone and the Route 53 mirror: the ownership TXT record of its TXT
// registry ("heritage=external-dns,external-dns/owner=OWNER,
// external-dns/resource=KIND/NAMESPACE/NAME"), and the names those records
// go by (a type prefix on the first label, --txt-prefix, --txt-suffix,
// --txt-wildcard-replacement), as ExternalDNS v0.20 through v0.23 write and
// read them.
package externaldns
