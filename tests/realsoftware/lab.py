"""Real software on the cross-check's topology: four Linux network namespaces, built and torn
down by the tests themselves, carrying traffic only between their own addresses.

    client 192.168.1.10 ─ .1.1 NAT 192.0.2.77 ─ .2.1 internet 131.107.0.254 ─ server
                               (iptables)           (one router)          131.107.0.1, .2

The same addresses as the simulator's Teredo tests: a home LAN, the NAT's one public address,
the Internet core as one router (as the simulator counts it for TTLs) and the server on two
consecutive public addresses (fact sheet F1.33, F3.8). The NAT is iptables on the NAT
namespace's outside interface: ``masquerade`` (``-j MASQUERADE``), ``random-fully``
(``-j MASQUERADE --random-fully``) or ``drop-3544`` (MASQUERADE, and UDP to port 3544
dropped in FORWARD: a hotel). Miredo's server runs in the server namespace; the client is
Miredo (``miredo``) or ``teredo_probe.py``, the simulator's qualification order in real UDP.

Names carry a tag unique to the process and lab (pytest-xdist workers never collide); every
process is started here and stopped here by its own id, and ``close`` deletes the
namespaces whatever happened before.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

SERVER, SECONDARY = "131.107.0.1", "131.107.0.2"
NAT_OUTSIDE, CLIENT, CLIENT_PORT = "192.0.2.77", "192.168.1.10", 40000
NATS = ("masquerade", "random-fully", "drop-3544")
CAPTURE_FILTER = "udp port 3544 or icmp"
PROBE = Path(__file__).with_name("teredo_probe.py")
_counter = itertools.count()


def skip_reason() -> str | None:
    """Why this machine cannot run the cross-check, or None."""
    if sys.platform != "linux":
        return "needs Linux network namespaces"
    if os.geteuid() != 0:
        return "needs root for network namespaces and iptables"
    missing = [b for b in ("ip", "iptables", "tshark", "miredo", "miredo-server")
               if shutil.which(b) is None]
    if missing:
        return f"not installed: {', '.join(missing)} (.ci/run installs them)"
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun for Miredo's tunnel interface"
    name = f"dachk{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if made.returncode != 0:
        return f"this machine does not allow network namespaces: {made.stderr.strip()}"
    try:
        nat = subprocess.run(["ip", "netns", "exec", name, "iptables", "-t", "nat", "-L"],
                             capture_output=True, text=True)
        if nat.returncode != 0:
            return f"iptables' nat table is not available: {nat.stderr.strip()}"
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


def sh(*cmd: str) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {out.stderr.strip()}")
    return out.stdout


class Lab:
    """The four namespaces and the NAT ``nat``; a context manager that always cleans up."""

    def __init__(self, nat: str, workdir: Path) -> None:
        if nat not in NATS:
            raise ValueError(nat)
        self.nat = nat
        self.workdir = workdir
        self.tag = f"{os.getpid() % 100000}x{next(_counter)}"
        self.ns = {role: f"da{role}{self.tag}" for role in ("c", "n", "i", "s")}
        self.nat_out = f"no{self.tag}"   # the NAT's outside interface
        self.client_if = f"c0{self.tag}"
        self.procs: list[subprocess.Popen] = []

    # -- life cycle

    def __enter__(self) -> Lab:
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _build(self) -> None:
        c, n, i, s, t = (*self.ns.values(), self.tag)
        for ns in self.ns.values():
            sh("ip", "netns", "add", ns)
            self.ip(ns, "link", "set", "lo", "up")
        links = [(c, self.client_if, n, f"ni{t}"), (n, self.nat_out, i, f"in{t}"),
                 (i, f"is{t}", s, f"s0{t}")]
        for a, a_if, b, b_if in links:
            sh("ip", "link", "add", a_if, "netns", a, "type", "veth", "peer", "name", b_if,
               "netns", b)
            for ns, ifname in ((a, a_if), (b, b_if)):
                # no IPv6 on the wires: only the Teredo tunnel carries IPv6
                self.run(ns, "sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=1")
                self.ip(ns, "link", "set", ifname, "up")
        self.ip(c, "addr", "add", f"{CLIENT}/24", "dev", self.client_if)
        self.ip(c, "route", "add", "default", "via", "192.168.1.1")
        self.ip(n, "addr", "add", "192.168.1.1/24", "dev", f"ni{t}")
        self.ip(n, "addr", "add", f"{NAT_OUTSIDE}/24", "dev", self.nat_out)
        self.ip(n, "route", "add", "default", "via", "192.0.2.1")
        self.ip(i, "addr", "add", "192.0.2.1/24", "dev", f"in{t}")
        self.ip(i, "addr", "add", "131.107.0.254/24", "dev", f"is{t}")
        for addr in (SERVER, SECONDARY):
            self.ip(s, "addr", "add", f"{addr}/24", "dev", f"s0{t}")
        self.ip(s, "route", "add", "default", "via", "131.107.0.254")
        for ns in (n, i):
            self.run(ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        masq = ["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", self.nat_out,
                "-j", "MASQUERADE"]
        if self.nat == "random-fully":
            masq.append("--random-fully")
        self.run(n, *masq)
        if self.nat == "drop-3544":
            self.run(n, "iptables", "-A", "FORWARD", "-p", "udp", "--dport", "3544",
                     "-j", "DROP")

    def close(self) -> None:
        for proc in reversed(self.procs):
            self.stop(proc)
        for ns in self.ns.values():
            # anything still running in our namespaces was started by this lab
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                                  text=True).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    # -- commands

    def ip(self, ns: str, *args: str) -> str:
        return sh("ip", "-n", ns, *args)

    def run(self, ns: str, *cmd: str, timeout: float = 60) -> str:
        out = subprocess.run(["ip", "netns", "exec", ns, *cmd], capture_output=True,
                             text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} in {ns}: {out.stderr.strip()}")
        return out.stdout

    def spawn(self, ns: str, *cmd: str, **kw) -> subprocess.Popen:
        proc = subprocess.Popen(["ip", "netns", "exec", ns, *cmd], start_new_session=True,
                                **kw)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)   # its own session: the process and its children
                proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    def capture(self, role: str, ifname: str, name: str) -> tuple[subprocess.Popen, Path]:
        """Start tshark on one interface and wait until it captures."""
        path = self.workdir / f"{name}.pcap"
        proc = self.spawn(self.ns[role], "tshark", "-i", ifname, "-f", CAPTURE_FILTER,
                          "-w", str(path), "-q", stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
        for line in proc.stderr:
            if "Capturing on" in line:
                break
        else:
            raise RuntimeError(f"tshark did not start on {ifname}")
        time.sleep(0.5)   # "Capturing on" comes a moment before the first packet is kept
        return proc, path

    def stop_capture(self, proc: subprocess.Popen) -> None:
        time.sleep(0.3)                      # let the last packets reach the file
        self.stop(proc, signal.SIGINT)

    def start_server(self) -> None:
        conf = self.workdir / "miredo-server.conf"
        conf.write_text(f"ServerBindAddress {SERVER}\nServerBindAddress2 {SECONDARY}\n")
        proc = self.spawn(self.ns["s"], "miredo-server", "-f", "-c", str(conf), "-p",
                          str(self.workdir / "miredo-server.pid"),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in proc.stderr:
            if "Starting" in line:
                break
        time.sleep(0.2)
        # the server is up when its two UDP sockets are bound
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            bound = self.run(self.ns["s"], "cat", "/proc/net/udp")
            if bound.count(":0DD8 ") >= 2:   # 3544
                return
            time.sleep(0.1)
        raise RuntimeError("miredo-server did not bind port 3544 on both addresses")


# -- the experiments -----------------------------------------------------------------------

MIREDO_QUALIFIED = "Teredo pseudo-tunnel started"
MIREDO_GAVE_UP = "No reply from Teredo server"


def _timestamped(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put((time.time(), line.rstrip("\n")))


def run_miredo(lab: Lab, limit: float = 20.0) -> dict:
    """Miredo's qualification: whether and when it qualified or gave up (wall-clock, from
    its log on stderr, against the capture's first solicitation), its Teredo address and
    what was captured on the client's wire and the NAT's outside."""
    lab.start_server()
    client_cap, client_pcap = lab.capture("c", lab.client_if, "miredo-client")
    nat_cap, nat_pcap = lab.capture("n", lab.nat_out, "miredo-nat")
    conf = lab.workdir / "miredo.conf"
    conf.write_text(f"InterfaceName teredo\nRelayType client\nServerAddress {SERVER}\n"
                    f"BindPort {CLIENT_PORT}\n")
    proc = lab.spawn(lab.ns["c"], "miredo", "-f", "-c", str(conf), "-p",
                     str(lab.workdir / "miredo.pid"), stdout=subprocess.DEVNULL,
                     stderr=subprocess.PIPE, text=True, bufsize=1)
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=_timestamped, args=(proc.stderr, lines), daemon=True)
    reader.start()
    log, state, ended = [], "timeout", None
    deadline = time.time() + limit
    while state == "timeout" and (left := deadline - time.time()) > 0:
        try:
            now, line = lines.get(timeout=left)
        except queue.Empty:
            break
        log.append(line)
        if MIREDO_QUALIFIED in line:
            state, ended = "qualified", now
        elif MIREDO_GAVE_UP in line:
            state, ended = "offline", now
    address = None
    while state == "qualified" and address is None:   # "(address: 2001:0:..., MTU: 1280)"
        try:
            _, line = lines.get(timeout=2)
        except queue.Empty:
            break
        log.append(line)
        if "(address: " in line:
            address = line.split("(address: ")[1].split(",")[0]
    lab.stop(proc)
    lab.stop_capture(client_cap)
    lab.stop_capture(nat_cap)
    return {"state": state, "ended_epoch": ended, "address": address,
            "log": log, "client_pcap": str(client_pcap),
            "nat_pcap": str(nat_pcap)}


def run_probe(lab: Lab, order: str) -> dict:
    """``teredo_probe.py`` (the simulator's qualification procedure) in the client namespace."""
    import json

    lab.start_server()
    client_cap, client_pcap = lab.capture("c", lab.client_if, f"probe-{order}-client")
    nat_cap, nat_pcap = lab.capture("n", lab.nat_out, f"probe-{order}-nat")
    out = lab.run(lab.ns["c"], sys.executable, str(PROBE), SERVER, SECONDARY,
                  str(CLIENT_PORT), "--order", order)
    lab.stop_capture(client_cap)
    lab.stop_capture(nat_cap)
    conntrack = Path("/proc/net/nf_conntrack")
    entries = lab.run(lab.ns["n"], "cat", str(conntrack)) if conntrack.exists() else ""
    return {**json.loads(out), "conntrack": entries.splitlines(),
            "client_pcap": str(client_pcap), "nat_pcap": str(nat_pcap)}
