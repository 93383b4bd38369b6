"""A stateful packet filter as a gateway stage: ordered allow/deny/reject rules by protocol,
destination ports and direction, a default action, and a state table so that replies to flows
an allowed outbound packet opened come back in (like Linux conntrack's ESTABLISHED).

Rules are written as strings, the way a scenario file says them: ``"tcp/443"``, ``"udp/53"``,
``"udp"``, ``"icmp"``, ``"proto/41"``, ``"tcp/8000-8100"``, optionally preceded by an action
(``allow``/``deny``/``reject``) and a direction (``out``/``in``/``both``; default ``out``):
``"reject tcp"``, ``"allow in tcp/3389"``.

Placed before the NAT in a gateway's stages, the firewall sees inside addresses both ways.
``deny`` is silent (a TCP connect then fails after its SYN retransmissions, 0x274c);
``reject`` answers a TCP SYN with a RST and anything else with ICMP "administratively
prohibited", sent back to the inside host through the gateway (connect fails fast, 0x274d).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, PlainSerializer, PlainValidator

from sim.config import Strict, suggest
from sim.net.packet import (
    ACK,
    ADMIN_PROHIBITED,
    ADMIN_PROHIBITED_V6,
    ICMP,
    ICMPV6,
    IPV4_HEADER,
    IPV6_HEADER,
    IPV6_IN_IPV4,
    PROTO_NAMES,
    RST,
    SYN,
    TCP,
    TCP_HEADER,
    UDP,
    IcmpError,
    Packet,
    icmp_error,
    icmpv6_error,
)

if TYPE_CHECKING:
    from sim.net.kernel import Kernel
    from sim.net.router import Gateway

PROTOCOLS: dict[str, int | None] = {
    "any": None, "ip": None, "tcp": TCP, "udp": UDP, "icmp": ICMP, "icmpv6": ICMPV6,
    "proto41": IPV6_IN_IPV4, "6in4": IPV6_IN_IPV4,
}
ACTIONS = ("allow", "deny", "reject")
DIRECTIONS = {"out": "out", "outbound": "out", "in": "in", "inbound": "in", "both": "both"}

# Idle timeouts of the state table: Linux nf_conntrack defaults (udp_timeout_stream 120 s,
# tcp_timeout_established 5 days, icmp_timeout 30 s, generic_timeout 600 s).
UDP_STATE_TIMEOUT = 120.0
TCP_STATE_TIMEOUT = 432000.0
ICMP_STATE_TIMEOUT = 30.0
OTHER_STATE_TIMEOUT = 600.0


_EXAMPLES = "e.g. tcp/443, udp/53, udp, icmp, proto/41, tcp/8000-8100, allow in tcp/3389"


def _not_a_rule(text: Any, why: str = "") -> str:
    return f"{str(text)!r} is not a firewall rule ({why + '; ' if why else ''}{_EXAMPLES})"


@dataclass(frozen=True)
class Rule:
    """One filter rule: what it does to packets of ``proto`` (None: any) whose destination
    port is within ``ports`` (None: any), travelling in ``direction``."""

    action: str = "allow"
    proto: int | None = None
    ports: tuple[int, int] | None = None
    direction: str = "out"

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"firewall rule action {self.action!r}: expected allow, deny or "
                             "reject")
        if self.direction not in ("out", "in", "both"):
            raise ValueError(f"firewall rule direction {self.direction!r}: expected out, in "
                             "or both")
        if self.ports is not None:
            if self.proto not in (TCP, UDP):
                raise ValueError("firewall rule: ports only apply to tcp and udp")
            lo, hi = self.ports
            if not 0 <= lo <= hi <= 65535:
                raise ValueError(f"firewall rule: bad port range {lo}-{hi}")

    @classmethod
    def parse(cls, text: str | Rule, action: str | None = None,
              direction: str | None = None) -> Rule:
        """``"[action] [direction] proto[/port[-port]]"``, e.g. ``"tcp/443"``, ``"udp"``,
        ``"proto/41"``, ``"deny in tcp/8000-8100"``; ``action`` and ``direction`` are the
        defaults when the text names none."""
        if isinstance(text, Rule):
            return text
        words = str(text).strip().lower().split()
        act, way = action or "allow", direction or "out"
        if words and words[0] in ACTIONS:
            act = words.pop(0)
        if words and words[0] in DIRECTIONS:
            way = DIRECTIONS[words.pop(0)]
        if len(words) != 1:
            raise ValueError(_not_a_rule(text))
        spec = words[0]
        name, slash, rest = spec.partition("/")
        if slash and not rest:
            raise ValueError(_not_a_rule(text, "nothing after '/'"))
        ports = None
        if name == "proto":
            if not rest.isdigit() or not 0 <= int(rest) <= 255:
                raise ValueError(f"firewall rule {text!r}: 'proto/' needs a protocol number")
            proto: int | None = int(rest)
        elif name.isdigit():
            proto = int(name)
        else:
            if name not in PROTOCOLS:
                raise ValueError(_not_a_rule(text, f"unknown protocol {name!r}"
                                             + suggest(name, PROTOCOLS)))
            proto = PROTOCOLS[name]
            if rest:
                lo, sep, hi = rest.partition("-")
                if not lo.isdigit() or (sep and not hi.isdigit()):
                    raise ValueError(_not_a_rule(text, f"bad port {rest!r}"))
                ports = (int(lo), int(hi) if sep else int(lo))
                for port in ports:
                    if port > 65535:
                        raise ValueError(f"firewall rule {text!r}: port {port} is out of "
                                         "range")
        try:
            return cls(act, proto, ports, way)
        except ValueError as exc:
            raise ValueError(f"firewall rule {text!r}: {exc}") from None

    def matches(self, proto: int, dport: int, outbound: bool) -> bool:
        if self.direction != "both" and (self.direction == "out") != outbound:
            return False
        if self.proto is not None and self.proto != proto:
            return False
        return self.ports is None or self.ports[0] <= dport <= self.ports[1]

    def __str__(self) -> str:
        if self.proto is None:
            what = "any"
        elif self.proto in (TCP, UDP, ICMP, ICMPV6):
            what = PROTO_NAMES[self.proto]
        else:
            what = f"proto/{self.proto}"
        if self.ports is not None:
            lo, hi = self.ports
            what += f"/{lo}" if lo == hi else f"/{lo}-{hi}"
        way = "" if self.direction == "out" else f"{self.direction} "
        return f"{self.action} {way}{what}"


class Firewall:
    """A stateful filter stage. Outbound packets are checked against the rules in order (the
    first match decides, else ``default``); an allowed one opens or refreshes its flow's state,
    and inbound packets of that flow (replies, ICMP errors about it) pass. Other inbound
    packets meet the inbound rules, else ``inbound_default`` (deny: unsolicited is dropped)."""

    def __init__(self, kernel: Kernel, name: str, rules: Iterable[Rule | str] = (),
                 default: str = "allow", inbound_default: str = "deny",
                 udp_timeout: float = UDP_STATE_TIMEOUT,
                 tcp_timeout: float = TCP_STATE_TIMEOUT,
                 icmp_timeout: float = ICMP_STATE_TIMEOUT,
                 other_timeout: float = OTHER_STATE_TIMEOUT) -> None:
        for what, value in (("default", default), ("inbound_default", inbound_default)):
            if value not in ACTIONS:
                raise ValueError(f"firewall {what} {value!r}: expected allow, deny or reject")
        self.kernel = kernel
        self.name = name
        self.rules: list[Rule] = [Rule.parse(r) for r in rules]
        self.default = default
        self.inbound_default = inbound_default
        self.timeouts = self._timeouts = {UDP: udp_timeout, TCP: tcp_timeout,
                                          ICMP: icmp_timeout, ICMPV6: icmp_timeout}
        self.other_timeout = other_timeout
        self.gateway: Gateway | None = None
        self._env = kernel.env
        self._trace = kernel.trace
        # flow (proto, inside addr, port, remote addr, port) -> [expires, idle timeout]; a list
        # so that a refresh is a store, not a second hash of the key
        self._state: dict[tuple, list[float]] = {}
        self._sweep_at = 4096
        self.counters: dict[str, int] = {"allowed_out": 0, "dropped_out": 0,
                                         "rejected": 0, "dropped_in": 0}

    @classmethod
    def from_spec(cls, kernel: Kernel, name: str, spec: dict[str, Any]) -> Firewall:
        """From a scenario's ``firewall:`` mapping: ``default``, ``inbound_default``, an
        ordered ``rules`` list, then ``deny``, ``reject`` and ``allow`` lists (in that order,
        so an explicit deny wins over an allow), and timeouts."""
        spec = dict(spec)
        rules: list[Rule] = [Rule.parse(r) for r in spec.pop("rules", [])]
        for action in ("deny", "reject", "allow"):
            rules += [Rule.parse(r, action=action) for r in spec.pop(action, [])]
        default = spec.pop("default", "allow")
        default = {"drop": "deny", "block": "deny", "accept": "allow"}.get(default, default)
        unknown = set(spec) - {"inbound_default", "udp_timeout", "tcp_timeout",
                               "icmp_timeout", "other_timeout"}
        if unknown:
            raise ValueError(f"unknown firewall setting(s): {', '.join(sorted(unknown))}")
        return cls(kernel, name, rules, default=default, **spec)

    @classmethod
    def from_config(cls, kernel: Kernel, name: str, config: FirewallConfig) -> Firewall:
        """From a scenario's validated ``firewall:`` settings (rules already parsed)."""
        return cls(kernel, name, config.ordered(), default=config.default,
                   inbound_default=config.inbound_default)

    def attach(self, gateway: Gateway) -> None:
        """Called by ``Gateway.add_stage``: rejections are sent back through the gateway."""
        self.gateway = gateway

    def _timeout(self, proto: int) -> float:
        return self.timeouts.get(proto, self.other_timeout)

    # -- the two verbs

    def outbound(self, pkt: Packet) -> Packet | None:
        proto = pkt.proto
        key = (proto, pkt.skey, pkt.sport, pkt.dkey, pkt.dport)
        state = self._state
        now = self._env.now
        flow = state.get(key)
        if flow is not None and flow[0] > now:
            flow[0] = now + flow[1]
            return pkt
        rule = self._match(pkt.proto, pkt.dport, True)
        action = rule.action if rule is not None else self.default
        if action == "allow":
            if len(state) >= self._sweep_at:
                self._sweep(now)
            timeout = self._timeout(proto)
            state[key] = [now + timeout, timeout]
            self.counters["allowed_out"] += 1
            return pkt
        self.counters["dropped_out"] += 1
        why = f"rule '{rule}'" if rule is not None else f"default {self.default}"
        if action == "reject":
            self._reject(pkt, why)
            return None
        self.kernel.drop(self.name, pkt, f"firewall {self.name}: outbound "
                                         f"{_describe(pkt)} blocked by {why}")
        return None

    def inbound(self, pkt: Packet) -> Packet | None:
        proto = pkt.proto
        key = (proto, pkt.dkey, pkt.dport, pkt.skey, pkt.sport)
        now = self._env.now
        flow = self._state.get(key)
        if flow is not None and flow[0] > now:
            flow[0] = now + flow[1]
            return pkt
        if pkt.proto in (ICMP, ICMPV6) and self._related(pkt, now):
            return pkt
        gateway = self.gateway
        if gateway is not None and pkt.skey in gateway._external_keys:
            return pkt  # hairpinned: sent from inside, already checked outbound
        rule = self._match(pkt.proto, pkt.dport, False)
        action = rule.action if rule is not None else self.inbound_default
        if action == "allow":
            return pkt
        self.counters["dropped_in"] += 1
        if rule is not None:
            why = f"rule '{rule}'"
        elif flow is not None:   # the flow it answers was idle too long: its state expired
            why = (f"its flow's state expired at t={flow[0]:.1f} s, after {flow[1]:g} s "
                   "idle")
        else:
            why = "no outbound flow it answers"
        self.kernel.drop(self.name, pkt, f"firewall {self.name}: unsolicited inbound "
                                         f"{_describe(pkt)} dropped ({why})")
        return None

    # -- helpers

    def _related(self, pkt: Packet, now: float) -> bool:
        """An echo reply to an allowed echo request, or an ICMP error quoting a packet of an
        allowed flow (conntrack's RELATED)."""
        msg = pkt.payload
        if isinstance(msg, IcmpError):
            q = pkt.inner
            if q is None:
                return False
            flow = self._state.get((q.proto, q.skey, q.sport, q.dkey, q.dport))
            return flow is not None and flow[0] > now
        return False

    def _match(self, proto: int, dport: int, outbound: bool) -> Rule | None:
        for rule in self.rules:
            if rule.matches(proto, dport, outbound):
                return rule
        return None

    def _sweep(self, now: float) -> None:
        """Forget idle flows (the table is checked lazily on lookup, swept when it grows)."""
        state = self._state
        for key in [k for k, flow in state.items() if flow[0] <= now]:
            del state[key]
        self._sweep_at = max(4096, 2 * len(state))

    def _reject(self, pkt: Packet, why: str) -> None:
        """Answer the blocked packet: a RST to a TCP SYN (RFC 9293 §3.10.7.1: the connect
        is refused), ICMP administratively prohibited otherwise (RFC 1812 §5.2.7.1)."""
        self.counters["rejected"] += 1
        if pkt.proto == TCP:
            if not pkt.flags & SYN or pkt.flags & ACK:
                self.kernel.drop(self.name, pkt, f"firewall {self.name}: outbound "
                                                 f"{_describe(pkt)} blocked by {why}")
                return
            header = IPV4_HEADER if pkt.dst.version == 4 else IPV6_HEADER
            answer = Packet(pkt.dst, pkt.src, TCP, pkt.dport, pkt.sport,
                            size=header + TCP_HEADER, flags=RST | ACK, seq=0,
                            ack=pkt.seq + 1)
        else:
            answer = self._icmp_reject(pkt)
        self.kernel.drop(self.name, pkt, f"firewall {self.name}: outbound {_describe(pkt)} "
                                         f"rejected by {why}")
        if answer is not None and self.gateway is not None:
            if self._trace.on:
                self.kernel.log(self.name, "reject", pkt=pkt, answer=answer)
            self.gateway.send(answer)


    def _icmp_reject(self, pkt: Packet) -> Packet | None:
        """ICMP (or ICMPv6, RFC 4443 §3.1) administratively prohibited from the firewall's own
        address: the gateway's interface towards the sender, as a router sources the ICMP
        errors it sends (RFC 1812 §4.3.2.4), not the destination's (only a TCP RST must look
        like the peer's to be accepted). None when that interface has no address of the
        sender's family."""
        gateway = self.gateway
        hop = gateway.routes.lookup(pkt.src) if gateway is not None else None
        if hop is None:
            return None
        version = pkt.src.version
        src = next((a for a in hop[0].addresses if a.version == version), None)
        if src is None:
            return None
        if version == 4:
            return icmp_error(src, pkt, code=ADMIN_PROHIBITED)
        return icmpv6_error(src, pkt, code=ADMIN_PROHIBITED_V6)


def _describe(pkt: Packet) -> str:
    proto = PROTO_NAMES.get(pkt.proto, f"proto/{pkt.proto}")
    if pkt.proto in (TCP, UDP):
        return f"{proto} {pkt.src}:{pkt.sport} -> {pkt.dst}:{pkt.dport}"
    return f"{proto} {pkt.src} -> {pkt.dst}"


def _rule_of(action: str | None) -> Any:
    """A scenario's rule: text parsed once into a :class:`Rule` (``action``: the list's own
    action; None: the ordered list, where each rule says what it does), written back as
    its text."""
    def parse(value: Any) -> Rule:
        if isinstance(value, Rule):
            return value
        if not isinstance(value, str):
            raise ValueError(_not_a_rule(value))
        rule = Rule.parse(value, action=action)
        if action is None and value.strip().lower().split()[0] not in ACTIONS:
            raise ValueError(f"{value!r}: a rule of the ordered list starts with what it does "
                             "(allow, deny or reject), e.g. 'allow udp/53'")
        return rule
    # (the base type is Any: pydantic then builds no schema of the dataclass, which cost 15 ms
    # of every start-up; the validator returns a Rule all the same)
    return Annotated[Any, PlainValidator(parse), PlainSerializer(str, return_type=str)]


class FirewallConfig(Strict):
    """A network's ``firewall:``. First match wins: the ordered ``rules``, then every
    ``deny``, every ``reject``, every ``allow`` (so an explicit deny beats an allow)."""

    default: Literal["allow", "deny"] = "allow"
    inbound_default: Literal["allow", "deny"] = "deny"
    rules: list[_rule_of(None)] = Field(default_factory=list)          # type: ignore[valid-type]
    allow: list[_rule_of("allow")] = Field(default_factory=list)       # type: ignore[valid-type]
    deny: list[_rule_of("deny")] = Field(default_factory=list)         # type: ignore[valid-type]
    reject: list[_rule_of("reject")] = Field(default_factory=list)     # type: ignore[valid-type]

    def ordered(self) -> list[Rule]:
        """The rules in the order the firewall tries them."""
        return [*self.rules, *self.deny, *self.reject, *self.allow]


class SourceExempt:
    """Lets one host's own traffic bypass a firewall stage: an explicit proxy's connections
    out are not filtered by its network's firewall (design.md)."""

    def __init__(self, stage: Firewall, sources: set) -> None:
        self.stage = stage
        self.sources = sources

    def attach(self, gateway: Gateway) -> None:
        self.stage.attach(gateway)

    def outbound(self, pkt: Packet) -> Packet | None:
        return pkt if pkt.src in self.sources else self.stage.outbound(pkt)

    def inbound(self, pkt: Packet) -> Packet | None:
        return pkt if pkt.dst in self.sources else self.stage.inbound(pkt)
