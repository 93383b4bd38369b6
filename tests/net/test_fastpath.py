"""The hot path's tricks live in ``sim.net.fastpath`` alone (the sizes of every module, sim/net
included, are ``tests/test_structure.py``'s)."""

import ast
from ipaddress import ip_address
from pathlib import Path

import pytest

from sim.net.fastpath import KeyedPacket, addr_key, call_later, hop_queue
from sim.net.kernel import Environment
from sim.net.nat import Behaviour
from sim.net.packet import UDP, Packet

NET = Path(__file__).resolve().parents[2] / "sim" / "net"
MODULES = sorted(NET.rglob("*.py"))

# ipaddress's integer and family slots, SimPy's clock, heap and event ids, our far heap
PRIVATE = {"_ip", "_version", "_now", "_queue", "_eid", "_later"}


def _name(path: Path) -> str:
    return str(path.relative_to(NET.parent.parent))


def _private_uses(path: Path) -> list[str]:
    """``x._ip``, ``env._now``...: a private name of another object (an object's own state,
    ``self._queue`` in the kernel's environment, is its business)."""
    tree = ast.parse(path.read_text())
    return [f"{_name(path)}:{node.lineno} .{node.attr}" for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in PRIVATE
            and not (isinstance(node.value, ast.Name) and node.value.id == "self")]


def test_only_fastpath_reaches_into_ipaddress_and_simpy():
    """In the whole package: the transition methods, the view and the fleet use its helpers."""
    everywhere = sorted(NET.parent.rglob("*.py"))
    uses = [u for path in everywhere if path.name != "fastpath.py" for u in _private_uses(path)]
    assert uses == []


def test_the_check_sees_a_private_name():
    assert _private_uses(NET / "fastpath.py")   # where they are allowed, and used


def test_address_keys_are_the_integers_and_families_never_collide():
    v4, v6 = ip_address("0.0.0.1"), ip_address("::1")
    assert addr_key(v4) == 1
    assert addr_key(v6) == ~1
    assert addr_key(v4) != addr_key(v6)


def test_a_packet_carries_its_addresses_keys():
    src, dst = ip_address("192.168.1.10"), ip_address("2001:db8::1")
    pkt = Packet(src, dst, UDP, 1, 2)
    assert isinstance(pkt, KeyedPacket)
    assert (pkt.skey, pkt.dkey) == (addr_key(src), addr_key(dst))
    moved = pkt.replace(dst=ip_address("131.107.0.1"))
    assert moved.dkey == addr_key(ip_address("131.107.0.1")) and moved.skey == pkt.skey
    assert moved.callbacks is None


def test_the_clock_is_simpys_own_slot():
    env = Environment(initial_time=5)
    assert env.now == 5
    env.timeout(2.5)
    env.run()
    assert env.now == 7.5 == env._now


def test_call_later_and_a_hop_keep_simpys_order():
    """Timers and hops take their place among SimPy's own events: by time, then by the
    order in which they were scheduled."""
    env = Environment()
    seen = []
    env.timeout(1.0).callbacks.append(lambda _e: seen.append("timeout"))
    call_later(env, 1.0, lambda t: seen.append(t._value), "timer")
    call_later(env, 0.5, lambda t: seen.append(t._value), "early")
    queue, ids = hop_queue(env)
    assert queue is env._queue and ids is env._eid
    env.run()
    assert seen == ["early", "timeout", "timer"]


@pytest.mark.parametrize("label, member", [
    ("endpoint-independent", Behaviour.ENDPOINT_INDEPENDENT),
    ("address-dependent", Behaviour.ADDRESS_DEPENDENT),
    ("address-and-port-dependent", Behaviour.ADDRESS_AND_PORT_DEPENDENT),
])
def test_nat_behaviours_are_named_as_in_scenarios(label, member):
    assert member.label == label and Behaviour.parse(label) is member
