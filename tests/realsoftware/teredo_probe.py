"""A Teredo qualification in the simulator's (Windows') order, against a real Teredo server.

Run inside the client's network namespace by the cross-check tests:
``python teredo_probe.py SERVER SECONDARY PORT [--order rfc4380|no-cone]``. It does what
``sim.transition.teredo.TeredoClient._qualify`` does, with real UDP: RFC 4380 §5.2.1 (fact
sheet F3.1-F3.5) router solicitations with the cone bit to the primary address, up to 3 × 4 s;
then without it to the primary, then to the secondary, and compares the two origin
indications. ``--order no-cone`` starts at the second phase (what Miredo 1.2.6 sends, with
the secondary check added), which shows the NAT's mapping without the cone test's side effects.
It prints one JSON object: the outcome, the NAT type, the origin indications and the time of
each step (seconds from the first solicitation). Only the standard library.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import select
import socket
import struct
import time

TEREDO_PORT = 3544
RS_TIMEOUT = 4.0
RS_TRIES = 3
ALL_ROUTERS = ipaddress.IPv6Address("ff02::2")
LL_CONE = ipaddress.IPv6Address("fe80::8000:ffff:ffff:ffff")
LL_NO_CONE = ipaddress.IPv6Address("fe80::ffff:ffff:ffff")


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def router_solicitation(nonce: bytes, cone: bool) -> bytes:
    """Authentication indicator (no id, no value, the nonce, confirmation 0), then an IPv6 RS
    from the link-local address with or without the cone bit to ff02::2, hop limit 255."""
    src = (LL_CONE if cone else LL_NO_CONE).packed
    dst = ALL_ROUTERS.packed
    body = struct.pack("!BBHI", 133, 0, 0, 0)
    pseudo = src + dst + struct.pack("!I3xB", len(body), 58)
    body = struct.pack("!BBHI", 133, 0, _checksum(pseudo + body), 0)
    ipv6 = struct.pack("!IHBB", 6 << 28, len(body), 58, 255) + src + dst
    return b"\x00\x01\x00\x00" + nonce + b"\x00" + ipv6 + body


def parse(datagram: bytes) -> dict | None:
    """The nonce, origin indication and ICMPv6 type of a Teredo datagram (RFC 4380 §5.1.1)."""
    out: dict = {"nonce": None, "origin": None}
    b = datagram
    if b[:2] == b"\x00\x01":
        idlen, aulen = b[2], b[3]
        start = 4 + idlen + aulen
        out["nonce"] = b[start:start + 8].hex()
        b = b[start + 9:]
    if b[:2] == b"\x00\x00":
        port = struct.unpack("!H", b[2:4])[0] ^ 0xFFFF
        addr = ipaddress.IPv4Address(struct.unpack("!I", b[4:8])[0] ^ 0xFFFFFFFF)
        out["origin"] = [str(addr), port]
        b = b[8:]
    if len(b) < 41 or b[0] >> 4 != 6:
        return None
    out["type"] = b[40]
    return out


class Prober:
    def __init__(self, server: str, secondary: str, port: int) -> None:
        self.server, self.secondary = server, secondary
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("0.0.0.0", port))
        self.t0: float | None = None
        self.steps: list[dict] = []

    def now(self) -> float:
        return time.monotonic() - self.t0

    def solicit(self, dst: str, cone: bool) -> dict | None:
        nonce = os.urandom(8)
        if self.t0 is None:
            self.t0 = time.monotonic()
        self.sock.sendto(router_solicitation(nonce, cone), (dst, TEREDO_PORT))
        self.steps.append({"t": round(self.now(), 4), "rs": dst, "cone": cone})
        deadline = self.now() + RS_TIMEOUT
        while (left := deadline - self.now()) > 0:
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                break
            try:
                data, (src, _sport) = self.sock.recvfrom(2048)
            except ConnectionRefusedError:   # an ICMP error queued on the socket
                continue
            got = parse(data)
            if got and got["type"] == 134 and got["nonce"] == nonce.hex() and got["origin"]:
                self.steps.append({"t": round(self.now(), 4), "ra_from": src,
                                   "origin": got["origin"]})
                return got
        return None

    def phase(self, dst: str, cone: bool) -> dict | None:
        for _ in range(RS_TRIES):
            ra = self.solicit(dst, cone)
            if ra is not None:
                return ra
        return None

    def qualify(self, order: str) -> dict:
        if order == "rfc4380":
            ra = self.phase(self.server, cone=True)
            if ra is not None:
                return self.result("qualified", "cone", ra)
        ra = self.phase(self.server, cone=False)
        if ra is None:
            return self.result("offline", "unknown")
        ra2 = self.phase(self.secondary, cone=False)
        if ra2 is None:
            return self.result("offline", "unknown", ra)
        if ra["origin"] != ra2["origin"]:
            return self.result("offline", "symmetric", ra, ra2)
        return self.result("qualified", "restricted", ra, ra2)

    def result(self, state: str, nat: str, *ras: dict) -> dict:
        return {"state": state, "nat": nat, "at": round(self.now(), 4),
                "origins": [ra["origin"] for ra in ras], "steps": self.steps}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("secondary")
    ap.add_argument("port", type=int)
    ap.add_argument("--order", choices=("rfc4380", "no-cone"), default="rfc4380")
    args = ap.parse_args()
    print(json.dumps(Prober(args.server, args.secondary, args.port).qualify(args.order)))


if __name__ == "__main__":
    main()
