"""Which resolved addresses a fetch may connect to: public unicast only, unless the namespace's
allow-list names the host or a network holding the address."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Cloud metadata endpoints that are not already link-local (AWS's IPv6 one is ULA; both are refused
# anyway, named here so that an allow-list of a broad network cannot reach them by accident).
METADATA = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
            ipaddress.ip_address("100.100.100.200"))


def effective(address: IPAddress) -> IPAddress:
    """The IPv4 address behind IPv4-mapped (``::ffff:a.b.c.d``), NAT64 and 6to4 spellings."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def is_public(address: IPAddress) -> bool:
    address = effective(address)
    return (address.is_global and not address.is_multicast and not address.is_reserved
            and not address.is_private and not address.is_loopback and not address.is_link_local
            and address not in METADATA)


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str]
    suffixes: tuple[str, ...]  # from "*.example.internal": ".example.internal"
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def parse(cls, entries: list[str]) -> "AllowList":
        hosts, suffixes, networks = set(), [], []
        for entry in entries:
            entry = entry.strip().lower()
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if entry.startswith("*."):
                suffixes.append(entry[1:])
            elif entry:
                hosts.add(entry.rstrip("."))
        return cls(frozenset(hosts), tuple(suffixes), tuple(networks))

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return host in self.hosts or any(host.endswith(suffix) for suffix in self.suffixes)

    def address_allowed(self, address: IPAddress) -> bool:
        candidates = {address, effective(address)}
        return any(a.version == n.version and a in n for a in candidates for n in self.networks)


def address_permitted(host: str, address: IPAddress, allow: AllowList) -> bool:
    if effective(address) in METADATA:  # never, whatever the allow-list says
        return False
    return is_public(address) or allow.host_allowed(host) or allow.address_allowed(address)
