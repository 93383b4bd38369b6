"""``dasim trace``'s text: one probe and its answer, device by device, with what each device
did (sent, routed, passed its firewall, translated by its NAT, dropped and why, received).

Read from real packets: the probe's crossings (``sim.scenario.probe``), followed through the
NATs' translate records (``sim.report.journeys.Families``). The answer is what the network
sent back: the destination's reply (a SYN-ACK, a RST, an echo reply), or a rejecting
firewall's RST or ICMP error.
"""

from __future__ import annotations

from typing import Any

from sim.net import packet as p
from sim.report.capture import summary
from sim.report.journeys import Families, endpoints, group


def _translations(trace: list) -> dict[int, str]:
    """id(translated copy) -> the name of the NAT that made it."""
    return {id(r.fields["after"]): r.node for r in trace if r.kind == "translate"}


def hops(crossings: list, families: Families, stages: dict[str, list], made_by: dict[int, str],
         owner: dict[str, str]) -> list[tuple[float, str, str, str]]:
    """``(time, device, interfaces, verdict)`` of one family's way, in order."""
    rows: list[tuple[float, str, str, str]] = []
    entered: dict[str, tuple[Any, Any]] = {}   # device -> (crossing in, packet in)
    for c in crossings:
        if c.direction == "in":
            entered[c.device] = (c, c.pkt)
            drop = families.drops.get(id(c.pkt))
            if drop is not None and owner.get(drop[0], drop[0]) == c.device:
                rows.append((c.t, c.device, c.iface, f"dropped by {drop[0]}: {drop[1]}"))
            continue
        came = entered.pop(c.device, None)
        if came is None:
            rows.append((c.t, c.device, c.iface, f"sent {endpoints(c.pkt)}  {summary(c.pkt)}"))
            continue
        rows.append((came[0].t, c.device, f"{came[0].iface} → {c.iface}",
                     _forwarded(c.device, came[1], c.pkt, stages, made_by,
                                came[0].iface == "outside")))
    for device, (c, pkt) in entered.items():   # arrived, not sent on
        if families.drops.get(id(pkt)) is None:
            rows.append((c.t, device, c.iface, "received"))
    last = crossings[-1].pkt if crossings else None
    drop = families.drops.get(id(last)) if last is not None else None
    if drop is not None and not any(r[3].startswith("dropped") for r in rows):
        rows.append((crossings[-1].t, owner.get(drop[0], drop[0]), "",
                     f"dropped by {drop[0]}: {drop[1]}"))
    return sorted(rows, key=lambda r: r[0])


def _changed(before: Any, after: Any) -> str:
    """``the source 10.1.0.10:33434 to 198.51.100.10:1025`` (or the destination)."""
    side = []
    if (before.src, before.sport) != (after.src, after.sport):
        side.append(f"the source {_end(before.src, before.sport, before)} to "
                    f"{_end(after.src, after.sport, after)}")
    if (before.dst, before.dport) != (after.dst, after.dport):
        side.append(f"the destination {_end(before.dst, before.dport, before)} to "
                    f"{_end(after.dst, after.dport, after)}")
    return " and ".join(side) or "nothing"


def _end(addr: Any, port: int, pkt: Any) -> str:
    return f"{addr}:{port}" if pkt.proto in (p.TCP, p.UDP) else str(addr)


def _forwarded(device: str, before: Any, after: Any, stages: dict[str, list],
               made_by: dict[int, str], inbound: bool) -> str:
    """What a device that sent the packet on did to it."""
    said = []
    order = stages.get(device, ())
    if inbound:   # the stages in reverse on the way in: the NAT before the firewall
        order = order[::-1]
    for kind, name in order:
        if after is not before and made_by.get(id(after)) == name:   # a NAT, a forward
            said.append(f"{name} translated {_changed(before, after)}")
        elif kind == "nat":
            said.append(f"{name}: not translated")
        else:
            said.append(f"passed {name}")
    return "; ".join(said) if said else "routed"


def answer_of(grouped: dict[int, list], probe: list, families: Families) -> int | None:
    """The family that answers the probe: a rejecting firewall's answer, an ICMP error that
    quotes it, or the first reply from where it was delivered, its addresses reversed."""
    members = {id(c.pkt) for c in probe}
    for m in members:
        answer = families.answers.get(m)
        if answer is not None:
            return id(families.root(answer))
    delivered = next((c for c in reversed(probe) if c.direction == "in"), None)
    for key, cs in grouped.items():
        first = cs[0].pkt
        if first.inner is not None and id(first.inner) in members:
            return key
        if delivered is not None and cs[0].device == delivered.device \
                and cs[0].direction == "out" and _reverses(first, delivered.pkt):
            return key
    return None


def _reverses(reply: Any, pkt: Any) -> bool:
    if reply.src != pkt.dst or reply.dst != pkt.src:
        return False
    if pkt.proto in (p.TCP, p.UDP):
        return reply.proto == pkt.proto and reply.sport == pkt.dport and reply.dport == pkt.sport
    return getattr(reply.payload, "kind", None) in ("echo-reply",) \
        and getattr(reply.payload, "ident", None) == getattr(pkt.payload, "ident", None)


def render(rec: Any, view: Any, client: str, to: str) -> str:
    """The trace's text: a heading, the probe's hops, the answer's, and a one-line result."""
    where = f"{to} ({rec.destination})" if str(rec.destination) != to else to
    out = [f"trace {client} → {where}, {rec.kind} at {rec.at:g} s", ""]
    if rec.error:
        return "\n".join([*out, f"not sent: {rec.error}", ""])
    devices = view.devices()
    stages = {d.name: list(d.stages) for d in devices}
    owner = {stage: d.name for d in devices for _k, stage in d.stages}
    families = Families(rec.trace)
    grouped = group(rec.crossings, families)
    probe = grouped.get(id(rec.sent), [])
    made_by = _translations(rec.trace)
    answered = answer_of(grouped, probe, families)
    parts = [(title, key, hops(grouped[key], families, stages, made_by, owner))
             for title, key in (("probe", id(rec.sent)), ("answer", answered))
             if key is not None and key in grouped]
    rows = [r for _t, _k, found in parts for r in found]
    width = max([len("device"), *(len(r[1]) for r in rows)])
    across = max([len("interfaces"), *(len(r[2]) for r in rows)])
    for title, key, found in parts:
        out.append(f"{title}: {summary(grouped[key][0].pkt)}")
        out.append(f"  {'time (s)':>10}  {'device':<{width}}  {'interfaces':<{across}}  verdict")
        for t, device, ifaces, verdict in found:
            out.append(f"  {t:>10.4f}  {device:<{width}}  {ifaces:<{across}}  {verdict}")
        out.append("")
    out.append("result: " + _result(rec, probe, grouped.get(answered), families, owner))
    return "\n".join(out) + "\n"


def _result(rec: Any, probe: list, answer: list | None, families: Families,
            owner: dict[str, str]) -> str:
    start = rec.at
    dropped = next(((c, families.drops[id(c.pkt)]) for c in reversed(probe)
                    if id(c.pkt) in families.drops), None)
    if dropped is not None:
        c, (node, reason) = dropped
        text = (f"dropped at {owner.get(node, node)} by {node} after "
                f"{(c.t - start) * 1000:.1f} ms ({reason})")
    else:
        last = next((c for c in reversed(probe) if c.direction == "in"), None)
        text = f"reached {last.device} after {(last.t - start) * 1000:.1f} ms" if last else \
            "left the recorded devices"
    if answer:
        back = answer[-1]
        fate = "came back" if back.direction == "in" and id(back.pkt) not in families.drops \
            else "was lost on its way back"
        text += f"; the answer ({summary(answer[0].pkt)}) {fate} after " \
                f"{(back.t - start) * 1000:.1f} ms"
    else:
        text += "; no answer"
    return text
