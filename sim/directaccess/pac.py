"""A PAC file evaluated as WinHTTP would: pypac's JavaScript context (dukpy) and its PAC
helper functions, with every name lookup answered by the simulated network.

``dnsResolve(host)``, ``isResolvable``, ``isInNet`` and ``myIpAddress`` ask the laptop's DNS
in the real world. Here the script is run once; the names it wanted and did not have are then
resolved by the laptop's own resolver (DNS queries as packets), and the script runs again with
those answers, until it asks for nothing new (``MAX_PASSES``). The date and time helpers
(``weekdayRange`` …) would read the machine's clock, not the simulated one: they are refused,
so that a run stays deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from ipaddress import ip_address
from typing import Any

from pypac.parser import MalformedPacError, _inject_function_into_js, parse_pac_value
from pypac.parser_functions import _address_in_network, function_injections
from pypac.parser_functions_ex import function_injections as ex_functions
from pypac.parser_functions_ex import isInNetEx

from sim.net.errors import SocketError

MAX_PASSES = 4   # a script that asks for a new name on every pass is cut off here
CLOCK_FUNCTIONS = ("weekdayRange", "dateRange", "timeRange")


class PacError(Exception):
    """The PAC file cannot be used: not JavaScript, no FindProxyForURL, or it failed."""


class _Needs(Exception):
    """Raised inside the script's run when it asks for a name not resolved yet."""


def _v4(text: str) -> bool:
    try:
        return ip_address(text).version == 4
    except ValueError:
        return False


class PacScript:
    """One PAC file, compiled once; :meth:`find` gives its answer for a URL."""

    def __init__(self, script: str) -> None:
        from dukpy import JSInterpreter, JSRuntimeError

        self.answers: dict[str, str | None] = {}
        self.needed: list[str] = []
        self.my_ip = "127.0.0.1"
        functions = {**function_injections, **ex_functions, **self._overrides()}
        try:
            self._context = JSInterpreter()
            for name, func in functions.items():
                _inject_function_into_js(self._context, name, func)
            self._context.evaljs(script)
            self._context.evaljs("typeof FindProxyForURL == 'function' ? 1 : "
                                 "(function () { throw 'no FindProxyForURL'; })()")
        except JSRuntimeError as exc:
            raise PacError(str(MalformedPacError(original_exc=exc))) from None

    def _lookup(self, host: str) -> str | None:
        if _v4(host):
            return host
        if host not in self.answers:
            self.needed.append(host)
            raise _Needs(host)
        return self.answers[host]

    def _overrides(self) -> dict[str, Callable]:
        def refuse(*_: Any) -> Any:
            raise PacError("the PAC file's date and time functions are not modelled")

        def in_net(host: str, pattern: str, mask: str) -> bool:
            addr = self._lookup(host) if host else None
            return bool(addr) and _address_in_network(addr, pattern, mask)

        def in_net_ex(host: str, patterns: str) -> bool:
            addr = self._lookup(host) if host else None
            return bool(addr) and isInNetEx(addr, patterns)

        return {"dnsResolve": lambda h: self._lookup(h) or None,
                "dnsResolveEx": lambda h: self._lookup(h) or "",
                "isResolvable": lambda h: self._lookup(h) is not None,
                "isResolvableEx": lambda h: self._lookup(h) is not None,
                "myIpAddress": lambda: self.my_ip, "myIpAddressEx": lambda: self.my_ip,
                "isInNet": in_net, "isInNetEx": in_net_ex,
                **dict.fromkeys(CLOCK_FUNCTIONS, refuse)}

    def _run(self, url: str, host: str) -> str | None:
        """One pass: the script's answer, or None when it needed a name not yet known."""
        from dukpy import JSRuntimeError

        self.needed = []
        try:
            value = self._context.evaljs("FindProxyForURL(dukpy['url'], dukpy['host'])",
                                         url=url, host=host)
        except JSRuntimeError as exc:
            if self.needed:
                return None
            raise PacError(f"FindProxyForURL failed: {exc}") from None
        if self.needed:   # a lookup failed inside a try/catch of the script's own
            return None
        return str(value or "")

    def find(self, url: str, host: str, my_ip: str,
             resolve: Callable[[str], Generator[Any, Any, list[Any]]]
             ) -> Generator[Any, Any, list[str]]:
        """The script's list for ``url`` (``["DIRECT"]``, ``["http://proxy:8080",
        "DIRECT"]`` …, pypac's parse), resolving the names it asks about with
        ``resolve(name)`` (a generator giving addresses or raising SocketError)."""
        self.my_ip = my_ip
        for _ in range(MAX_PASSES):
            value = self._run(url, host)
            if value is not None:
                return parse_pac_value(value) or ["DIRECT"]
            for name in dict.fromkeys(self.needed):
                try:
                    addrs = yield from resolve(name)
                    found = next((str(a) for a in addrs if _v4(str(a))), None)
                except SocketError:
                    found = None
                self.answers[name] = found
        raise PacError(f"the PAC file kept asking for new names after {MAX_PASSES} passes")
