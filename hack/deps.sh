#!/usr/bin/env bash
# Installs the programs the tests talk to when they are missing:
#   dig, kdig      Debian bind9-dnsutils, knot-dnsutils (DNS clients)
#   delv           Debian bind9-dnsutils (the DNSSEC validator of the dnssec test)
#   knotd          Debian knot (the real secondary for zone transfer tests)
#   dnsperf        Debian dnsperf (make bench)
#   moto_server    Python moto[server] (Route 53 emulator)
set -euo pipefail
need=()
{ command -v dig && command -v delv; } >/dev/null || need+=(bind9-dnsutils)
command -v kdig >/dev/null || need+=(knot-dnsutils)
command -v knotd >/dev/null || [ -x /usr/sbin/knotd ] || need+=(knot)
command -v dnsperf >/dev/null || need+=(dnsperf)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! command -v moto_server >/dev/null; then
  echo "installing moto[server]" >&2
  pip install -q 'moto[server]'
fi
