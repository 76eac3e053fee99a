"""Which network addresses a channel may reach, so a channel cannot be aimed inside.

A channel's addresses come from admins, and a post's media addresses from editors; the
planner's server fetches them. Without a check, such an address could reach the cloud's
metadata service (credentials of the machine), the database or anything else only the
server can see. So:

- always refused: link-local addresses (169.254.0.0/16, fe80::/10, where cloud metadata
  services answer), 0.0.0.0/8 and "::", multicast, broadcast and reserved ranges, and
  the metadata services' names and addresses (metadata.google.internal, 100.100.100.200,
  fd00:ec2::254);
- refused unless an admin allows the private network (`allow_private_network`, for an
  intranet Matrix or WordPress): loopback (127.0.0.0/8, ::1, "localhost"), private ranges
  (10/8, 172.16/12, 192.168/16, fc00::/7), shared address space (100.64.0.0/10) and
  every other address that is not globally reachable.

Odd spellings (0x7f000001, 2130706433, 127.1, [::ffff:127.0.0.1]) are read the way the
system resolver reads them. A name is checked at save time only if it is one of the
names above; at request time `publishers.http` checks every address it resolves to,
right before connecting, so a name that later points inside (DNS rebinding) is refused.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")}
)
_ZERO_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_LOCAL_NAMES = ("localhost", "localhost.localdomain")
# The organisation setting (planner.org_settings) that lets channels reach private addresses.
PRIVATE_SETTING = "allow_private_network"


# What each kind of refusal says; loopback and private ones name the admin's way out.
REASONS = {
    "metadata": "{address} is a cloud metadata service",
    "link_local": "{address} is a link-local address (where cloud metadata services answer)",
    "unspecified": "{address} is no address to connect to",
    "multicast": "{address} is a multicast address",
    "reserved": "{address} is a reserved address",
    "not_an_address": "{address} is not an address",
    "loopback": "{address} is this machine (loopback); an admin may allow addresses in the "
    "private network with the setting " + PRIVATE_SETTING,
    "private": "{address} is in a private network; an admin may allow addresses in the "
    "private network with the setting " + PRIVATE_SETTING,
}


@dataclass(frozen=True)
class Refusal:
    """Why an address may not be reached: a `kind` of REASONS, and the address (or name)."""

    kind: str
    address: str

    def __str__(self) -> str:
        return REASONS[self.kind].format(address=self.address)


class AddressRefused(ValueError):
    """An address a channel may not reach; `refusal` says which and why."""

    def __init__(self, refusal: Refusal, host: str) -> None:
        self.refusal = refusal
        shown = str(refusal)
        super().__init__(shown if refusal.address == host else f"{host}: {shown}")


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


# How names become addresses at request time (the system resolver; tests may set another).
resolver: Callable[[str, int], list[str]] = _resolve


def literal_address(host: str) -> IPAddress | None:
    """The address `host` spells (dotted, [IPv6], or the resolver's odd IPv4 forms), or None."""
    text = host.strip().strip("[]")
    try:
        return _plain(ipaddress.ip_address(text.split("%", 1)[0]))
    except ValueError:
        pass
    # inet_aton reads what the C resolver reads: 127.1, 0x7f000001, 2130706433, 0177.0.0.1.
    if text and all(c in "0123456789abcdefABCDEFxX." for c in text) and text[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def _plain(address: IPAddress) -> IPAddress:
    """An IPv4 address written as IPv6 (::ffff:a.b.c.d) as itself."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_refusal(address: IPAddress, *, allow_private: bool) -> Refusal | None:
    """Why `address` may not be reached (None when it may)."""
    address = _plain(address)
    kind = ""
    if address in METADATA_ADDRESSES:
        kind = "metadata"
    elif address.is_link_local:
        kind = "link_local"
    elif address.is_unspecified or (
        isinstance(address, ipaddress.IPv4Address) and address in _ZERO_NETWORK
    ):
        kind = "unspecified"
    elif address.is_multicast:
        kind = "multicast"
    elif address.is_loopback:
        kind = "" if allow_private else "loopback"
    elif address.is_reserved:  # 240.0.0.0/4 with the broadcast address; ::/8 but ::1
        kind = "reserved"
    elif not address.is_global:
        kind = "" if allow_private else "private"
    return Refusal(kind, str(address)) if kind else None


def carries_credentials(url: str) -> bool:
    """Whether the address `url` has a user name or password in it (https://user:pw@host/).

    Such an address would show its password wherever it is listed or sent, so it is
    refused. An address urlsplit cannot read counts as carrying none.
    """
    try:
        return "@" in urlsplit(url.strip()).netloc
    except ValueError:
        return False


def host_refusal(host: str, *, allow_private: bool) -> Refusal | None:
    """Why a channel may not be aimed at `host` (None when nothing is known against it).

    Names other than the metadata and local ones pass: they are checked on each request,
    against what they resolve to then.
    """
    name = host.strip().strip("[]").rstrip(".").lower()
    if name in METADATA_NAMES:
        return Refusal("metadata", name)
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return None if allow_private else Refusal("loopback", name)
    address = literal_address(name)
    return address_refusal(address, allow_private=allow_private) if address else None


def checked_addresses(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses `host` resolves to now, all allowed; AddressRefused names one that is not.

    One forbidden address refuses the host: a connection must not depend on which of its
    addresses the system tries first.
    """
    refusal = host_refusal(host, allow_private=allow_private)
    if refusal is not None:
        raise AddressRefused(refusal, host)
    found = resolver(host.strip("[]"), port)
    for text in found:
        address = literal_address(text)
        if address is None:
            refusal = Refusal("not_an_address", text)
        else:
            refusal = address_refusal(address, allow_private=allow_private)
        if refusal is not None:
            raise AddressRefused(refusal, host)
    return found
