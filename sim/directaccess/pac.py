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

import re
from collections.abc import Callable, Generator
from ipaddress import ip_address
from typing import Any

from pypac.parser import _inject_function_into_js, proxy_url
from pypac.parser_functions import _address_in_network, function_injections
from pypac.parser_functions_ex import function_injections as ex_functions
from pypac.parser_functions_ex import isInNetEx

from sim.net.errors import SocketError

MAX_PASSES = 4   # a script that asks for a new name on every pass is cut off here
CLOCK_FUNCTIONS = ("weekdayRange", "dateRange", "timeRange")
# what a PAC answer's elements may start with (Netscape's PAC format, and pypac's schemes)
DIRECTIVES = ("DIRECT", "PROXY", "SOCKS", "SOCKS4", "SOCKS5", "HTTP", "HTTPS")
_WHERE = re.compile(r"\s*at <dukpy>:(\d+):(\d+)")
# a string in the script that reads like an answer: a word, a space, then host:port
_ANSWER = re.compile(r"[\"']\s*([A-Za-z]+)\s+[\w.-]+:\d+")
_CLOCK_CALL = re.compile(r"\b(" + "|".join(CLOCK_FUNCTIONS) + r")\s*\(")


class PacError(Exception):
    """The PAC file cannot be used: not JavaScript, no FindProxyForURL, or it failed."""


def _js_error(exc: Exception) -> str:
    """dukpy's message without its stack: the error and where in the script it is."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else "error"
    where = _WHERE.search(text)
    if where:
        first += f" (line {where[1]}, column {where[2]} of the script)"
    return first


def parse_answer(value: str) -> tuple[list[str], list[str]]:
    """``FindProxyForURL``'s answer as pypac parses it (``["http://proxy:8080", "DIRECT"]``),
    and the elements that are no PAC directive (``PRXY host:port``): a client skips those."""
    entries, ignored = [], []
    for element in (e.strip() for e in value.split(";")):
        if element:
            try:
                entries.append(proxy_url(element))
            except ValueError:
                ignored.append(element)
    return entries, ignored


def problems(script: str) -> list[str]:
    """What is wrong with a PAC file before any laptop fetches it: it does not compile, it
    calls a date or time function (refused, see the module), or one of its strings looks
    like an answer with a misspelt directive. Each is a sentence for a warning."""
    found = []
    try:
        PacScript(script)
    except PacError as exc:
        found.append(f"the PAC file does not compile: {exc}; a laptop that fetches it gets no "
                     "proxy from it")
    for name in dict.fromkeys(_CLOCK_CALL.findall(script)):
        found.append(f"the PAC file calls {name}(), which reads the laptop's clock: not "
                     "modelled, so a run in which it is called gets no proxy from the file")
    for word in dict.fromkeys(_ANSWER.findall(script)):
        if word.upper() not in DIRECTIVES:
            found.append(f"the PAC file answers {word!r}, which is no PAC directive "
                         f"({', '.join(DIRECTIVES[:3])} …): a client skips it, so the answer "
                         "may come out DIRECT")
    return found


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
        self.refused: str | None = None   # the clock function the last pass called
        self.ignored: list[str] = []      # the last answer's elements that are no directive
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
            raise PacError(_js_error(exc)) from None

    def _lookup(self, host: str) -> str | None:
        if _v4(host):
            return host
        if host not in self.answers:
            self.needed.append(host)
            raise _Needs(host)
        return self.answers[host]

    def _overrides(self) -> dict[str, Callable]:
        def refuse(name: str) -> Callable:
            def refused(*_: Any) -> Any:
                self.refused = name
                raise PacError(f"{name}() is not modelled")
            return refused

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
                **{name: refuse(name) for name in CLOCK_FUNCTIONS}}

    def _run(self, url: str, host: str) -> str | None:
        """One pass: the script's answer, or None when it needed a name not yet known."""
        from dukpy import JSRuntimeError

        self.needed, self.refused = [], None
        try:
            value = self._context.evaljs("FindProxyForURL(dukpy['url'], dukpy['host'])",
                                         url=url, host=host)
        except JSRuntimeError as exc:
            if self.needed:
                return None
            if self.refused:
                raise PacError(f"FindProxyForURL called {self.refused}(), which reads the "
                               "laptop's clock: the date and time functions are not "
                               "modelled (a run must not depend on the real clock)") from None
            raise PacError(f"FindProxyForURL failed: {_js_error(exc)}") from None
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
                entries, self.ignored = parse_answer(value)
                return entries or ["DIRECT"]
            for name in dict.fromkeys(self.needed):
                try:
                    addrs = yield from resolve(name)
                    found = next((str(a) for a in addrs if _v4(str(a))), None)
                except SocketError:
                    found = None
                self.answers[name] = found
        raise PacError(f"the PAC file kept asking for new names after {MAX_PASSES} passes")
