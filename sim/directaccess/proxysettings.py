"""The client's proxy settings as the IP Helper service reads them, and its ProxyMgr cache.

A laptop's ``proxy:`` (design.md "Names and proxies") is machine context: a static WinHTTP
proxy with its bypass list, a PAC file's URL, automatic detection (WPAD), fact E4. Which of
them the IP Helper consults first is not documented (E4, UNCONFIRMED): ``SETTINGS_ORDER`` is
Internet Explorer's ("automatic configuration may override manual settings": detection, then
the script, then the manual proxy), assumption P1 in docs/model.md. Each decision crosses the
network: WPAD asks the laptop's DNS for ``wpad.<suffix>`` and fetches ``wpad.dat`` over HTTP,
a PAC URL is fetched the same way, and the script's own lookups are DNS queries
(``sim.directaccess.pac``).

The IP Helper remembers the last proxy it used under ``…\\iphlpsvc\\Parameters\\ProxyMgr``
(KB 2980635, E2) across network changes; when discovery finds nothing on a new network it
goes on with that proxy (P2), so a proxy that exists only on the last network keeps failing
until the cache is cleared and the service restarted (event ``clear_proxy_cache``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Generator
from dataclasses import dataclass
from ipaddress import ip_address
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from sim.config import Strict
from sim.directaccess.pac import PacError, PacScript
from sim.net.errors import SocketError
from sim.net.http import http_get

if TYPE_CHECKING:
    from sim.net.host import Host

# P1: the order in which the IP Helper consults its settings (E4 UNCONFIRMED): IE's.
SETTINGS_ORDER = ("auto_detect", "pac", "winhttp")
# P2: a discovery that finds nothing falls back to the ProxyMgr cache (KB 2980635 says only
# that the cache is used and must be cleared when its proxy is gone).
CACHE_FALLBACK = True
# settings that KB 3017472 calls static: a manual proxy, or a static .pac path (E3)
STATIC_SOURCES = frozenset({"winhttp", "pac"})


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{value!r} is not host:port (e.g. proxy.hotel.example:8080)")
    return host.lower(), int(port)


class ClientProxyConfig(Strict):
    """A laptop's ``proxy:``: ``winhttp`` (``host:port``, a name its DNS resolves or an IPv4
    address) with ``bypass`` (``<local>``, names with ``*`` wildcards), ``pac`` (the URL of a
    PAC file), ``auto_detect`` (WPAD by DNS)."""

    winhttp: str | None = None
    bypass: list[str] = Field(default_factory=list)
    pac: str | None = None
    auto_detect: bool = False

    @field_validator("winhttp")
    @classmethod
    def _proxy(cls, v: str | None) -> str | None:
        if v is not None:
            _host_port(v.removeprefix("http://"))
        return None if v is None else v.removeprefix("http://")

    @field_validator("bypass")
    @classmethod
    def _entries(cls, v: list[str]) -> list[str]:
        """Entries as netsh takes them: one list, or one string with ``;`` between entries
        (``bypass-list="<local>;da.contoso.com"``)."""
        return [e.strip().lower() for item in v for e in item.split(";") if e.strip()]

    @field_validator("pac")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None:
            parts = urlsplit(v)
            if parts.scheme != "http" or not parts.hostname:
                raise ValueError(f"{v!r}: a PAC file's URL is http://host/path (the IP "
                                 "Helper fetches it over plain HTTP)")
        return v

    @model_validator(mode="after")
    def _some(self) -> ClientProxyConfig:
        if self.winhttp is None and self.pac is None and not self.auto_detect:
            raise ValueError("give winhttp, pac or auto_detect: true (leave proxy out for "
                             "none)")
        if self.bypass and self.winhttp is None:
            raise ValueError("bypass applies to a winhttp proxy")
        return self


def bypassed(name: str, bypass: list[str]) -> bool:
    """Whether ``name`` is on the bypass list: ``<local>`` matches names without a dot,
    other entries are shell wildcards, case-insensitive (``netsh winhttp set proxy``)."""
    name = name.lower().rstrip(".")
    for entry in bypass:
        entry = entry.strip().lower()
        if entry == "<local>":
            if "." not in name:
                return True
        elif fnmatch.fnmatchcase(name, entry):
            return True
    return False


@dataclass(frozen=True)
class ProxyChoice:
    """What the settings decided for one URL: ``server`` (``host``, ``port``) or None for
    DIRECT; ``source``: auto_detect, pac, winhttp, cache or none; ``why``: for the story."""

    server: tuple[str, int] | None
    source: str
    why: str

    @property
    def static(self) -> bool:
        """A proxy from a static setting (KB 3017472's trigger, E3)."""
        return self.server is not None and self.source in STATIC_SOURCES


def _first_proxy(entries: list[str]) -> tuple[str, int] | None:
    """The PAC answer's first entry: a proxy, or None for DIRECT (P3: WinHTTP's failover to
    the later entries is not modelled)."""
    first = entries[0] if entries else "DIRECT"
    if first == "DIRECT":
        return None
    parts = urlsplit(first)
    return (parts.hostname or "").lower(), parts.port or 80


class ProxyManager:
    """One laptop's proxy settings over time (for ``netsh winhttp show proxy``) and its
    ProxyMgr cache. ``suffix()``: the DNS suffix of the network the laptop is on now."""

    def __init__(self, config: ClientProxyConfig, suffix: Callable[[], str | None]) -> None:
        self.history: list[tuple[float, ClientProxyConfig | None]] = [(0.0, config)]
        self.suffix = suffix
        self.cache: tuple[str, int] | None = None
        self.cache_history: list[tuple[float, tuple[str, int] | None]] = []
        self._scripts: dict[str, PacScript] = {}

    @property
    def config(self) -> ClientProxyConfig | None:
        return self.history[-1][1]

    def config_at(self, t: float) -> ClientProxyConfig | None:
        return next((c for when, c in reversed(self.history) if when <= t), None)

    def reset_winhttp(self, now: float) -> None:
        """``netsh winhttp reset proxy``: no static proxy, no bypass list from ``now`` on."""
        config = self.config
        if config is None:
            return
        rest = config.model_dump(exclude={"winhttp", "bypass"}, exclude_defaults=True)
        self.history.append((now, ClientProxyConfig(**rest) if rest else None))

    def remember(self, now: float, server: tuple[str, int] | None) -> None:
        if server != self.cache:
            self.cache = server
            self.cache_history.append((now, server))

    def find(self, host: Host, url: str, resolve: Callable
             ) -> Generator[Any, Any, ProxyChoice]:
        """The proxy for ``url``, from the settings in ``SETTINGS_ORDER``, as packets."""
        config = self.config
        name = urlsplit(url).hostname or ""
        notes: list[str] = []
        for source in SETTINGS_ORDER:
            choice = yield from self._one(source, config, host, url, name, resolve, notes)
            if choice is not None:
                if choice.server is not None:
                    self.remember(host.kernel.env.now, choice.server)
                return choice
        if CACHE_FALLBACK and self.cache is not None and (
                config is not None and (config.auto_detect or config.pac)):
            return ProxyChoice(self.cache, "cache", "; ".join(notes) + "; the IP Helper goes "
                               "on with the proxy in its ProxyMgr cache, "
                               f"{self.cache[0]}:{self.cache[1]}")
        return ProxyChoice(None, "none", "; ".join(notes) or "no proxy settings")

    def _one(self, source: str, config: ClientProxyConfig | None, host: Host, url: str,
             name: str, resolve: Callable, notes: list[str]):
        if config is None:
            return None
        if source == "winhttp" and config.winhttp is not None:
            if bypassed(name, config.bypass):
                return ProxyChoice(None, "winhttp", f"{name} is on the WinHTTP bypass list")
            server = _host_port(config.winhttp)
            return ProxyChoice(server, "winhttp", f"the static WinHTTP proxy {config.winhttp}")
        if source == "pac" and config.pac is not None:
            return (yield from self._pac(config.pac, "pac", host, url, name, resolve, notes))
        if source == "auto_detect" and config.auto_detect:
            suffix = self.suffix()
            if suffix is None:
                notes.append("WPAD: the network gives no DNS suffix to build wpad.<suffix> on")
                return None
            return (yield from self._pac(f"http://wpad.{suffix}/wpad.dat", "auto_detect",
                                         host, url, name, resolve, notes))
        return None

    def _pac(self, pac_url: str, source: str, host: Host, url: str, name: str,
             resolve: Callable, notes: list[str]):
        label = "WPAD" if source == "auto_detect" else "the PAC file"
        try:
            resp = yield from http_get(host, pac_url, resolve)
        except SocketError as exc:
            notes.append(f"{label} {pac_url}: {exc.hex} {exc}")
            return None
        if resp.status != 200 or not resp.body:
            notes.append(f"{label} {pac_url}: HTTP {resp.status}")
            return None
        text = resp.body.decode(errors="replace")
        try:
            script = self._scripts.get(text) or self._scripts.setdefault(text, PacScript(text))
            mine = host.interfaces[0].ipv4() if host.interfaces else None
            entries = yield from script.find(url, name, str(mine or "127.0.0.1"),
                                             lambda n: resolve(host, n))
        except PacError as exc:
            notes.append(f"{label} {pac_url}: {exc}")
            return None
        server = _first_proxy(entries)
        said = f"PROXY {server[0]}:{server[1]}" if server else "DIRECT"
        skipped = "; ".join(f"{e!r}" for e in script.ignored)
        if skipped:   # pypac skips an element that is no directive, as browsers do
            said += f" (skipping {skipped}: no PAC directive)"
        return ProxyChoice(server, source, f"{label} {pac_url} says {said} for {url}")


def is_literal(name: str) -> bool:
    try:
        ip_address(name)
    except ValueError:
        return False
    return True


# P4: the code and state of KB 3017472's cancellation are not documented (E3 says only that
# the client stays "Connecting"): ERROR_OPERATION_ABORTED, Winsock's code for an operation its
# own process cancelled, with the interface left "connecting".
STATIC_PROXY_CANCELLED = 0x3E3


@dataclass(frozen=True)
class ProxyRoute:
    """What the IP-HTTPS client is told for one attempt (``IpHttpsClient.find_proxy``)."""

    server: tuple[str, int] | None
    cancel: tuple[int, str] | None
    why: str
    label: str = ""   # the proxy as the failures name it (and where it came from)


def downloads(manager: ProxyManager, resolve: Callable) -> Callable:
    """The proxy of the IP Helper's other downloads (the CRLs of the IP-HTTPS chain) from the
    same settings, per URL: (name or address, port), or None for DIRECT."""

    def proxy_for(host: Host, url: str):
        choice = yield from manager.find(host, url, resolve)
        return choice.server

    return proxy_for


def ip_helper(manager: ProxyManager, cancels_static: bool, resolve: Callable,
              note: Callable[..., None]) -> Callable:
    """The IP Helper's proxy step before each IP-HTTPS attempt: ``manager``'s decision and,
    where the release does it (``cancels_static``, KB 3017472), the cancellation a static
    proxy brings. ``note`` tells the laptop's timeline when the decision changes."""
    said: list[str] = []

    def find(host: Host, url: str):
        choice = yield from manager.find(host, url, resolve)
        if not said or said[-1] != choice.why:
            said.append(choice.why)
            note("IP-HTTPS proxy settings: ", choice.why)
        cancel = None
        if choice.static and cancels_static:
            name = urlsplit(url).hostname or ""
            cancel = (STATIC_PROXY_CANCELLED, (
                f"the IP Helper service cancelled the connection to {name}: it detected a "
                f"static proxy ({choice.server[0]}:{choice.server[1]}, from "
                f"{'the WinHTTP settings' if choice.source == 'winhttp' else 'a static .pac'}"
                f"; KB 3017472)"))
        label = "" if choice.server is None else f"{choice.server[0]}:{choice.server[1]}" + (
            " from the ProxyMgr cache" if choice.source == "cache" else "")
        return ProxyRoute(choice.server, cancel, choice.why, label)

    return find
