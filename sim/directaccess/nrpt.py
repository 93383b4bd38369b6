"""The Name Resolution Policy Table: which DNS servers a DirectAccess client asks for a name
while it is outside (B1, B2).

A rule names a namespace (``.corp.contoso.com``: the suffix and every name under it; an FQDN
without the leading dot: that name only; ``.``: every name, force tunnelling's rule, B9) and
either DNS servers (the DNS64 on the DirectAccess server, reached only through a tunnel) or
none: an exemption, resolved by the adapter's own DNS servers. The longest matching namespace
wins. The table is used only outside; inside (the NLS answered) every name goes to the
adapter's DNS (B1).

A rule whose servers no interface can reach (no tunnel is up yet) fails the lookup at once
with WSANO_DATA, 0x2afc: the mechanism of KB 3052855 / KB 3056560 (B7), where the IP-HTTPS
server's public name falls under the internal namespace without an exemption and its lookup
goes to a DNS64 through the tunnel it is needed to build. The code is the one the KBs show
for it (assumption N1 in docs/model.md: Windows' resolver code for an unreachable NRPT server
is not documented beyond the KBs' symptom).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import Any, Literal

from pydantic import field_validator

from sim.config import Strict, one_word
from sim.net.errors import WSANO_DATA, SocketError

NAMESPACE = re.compile(r"^(\.|\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)$")


@dataclass(frozen=True)
class NrptRule:
    """One rule: its namespace and its DNS servers (none: an exemption)."""

    namespace: str
    dns: tuple[IPv6Address, ...] = ()

    @property
    def exemption(self) -> bool:
        return not self.dns

    def matches(self, name: str) -> bool:
        name = name.lower().rstrip(".")
        space = self.namespace.lower()
        if space == ".":
            return True
        if space.startswith("."):
            return name == space[1:] or name.endswith(space)
        return name == space.rstrip(".")

    @property
    def weight(self) -> int:
        """How specific it is: the longest namespace wins; an FQDN beats its own suffix."""
        space = self.namespace.rstrip(".")
        return 0 if space in ("", ".") else len(space.lstrip(".")) * 2 + \
            (0 if self.namespace.startswith(".") else 1)


class Nrpt:
    """The table: its rules in the order the policy lists them."""

    def __init__(self, rules: Iterable[NrptRule]) -> None:
        self.rules: tuple[NrptRule, ...] = tuple(rules)

    def match(self, name: str) -> NrptRule | None:
        """The rule that decides ``name`` (None: no rule, the adapter's DNS)."""
        found = [r for r in self.rules if r.matches(name)]
        return max(found, key=lambda r: r.weight) if found else None

    def policy(self, host: Any, note: Callable[..., None] | None = None) -> Callable:
        """The resolver hook for ``host`` outside (``net.dns.resolve`` calls it with the name,
        the adapter's servers and the query type, and asks the servers it returns). A name
        under a rule with DNS servers is asked for its IPv6 addresses only: the DNS client's
        "Resolve only IPv6 addresses for names" (N8), as DirectAccess carries IPv6 only."""

        def servers_for(name: str, adapter: Sequence[Any],
                        qtype: str) -> tuple[Sequence[Any], str]:
            rule = self.match(name)
            if rule is None or rule.exemption:
                return adapter, qtype
            if not any(host.routes.lookup(server) is not None for server in rule.dns):
                raise SocketError(WSANO_DATA, (
                    f"{name}: the NRPT rule for {rule.namespace} sends it to "
                    f"{', '.join(map(str, rule.dns))}, which no interface reaches yet "
                    "(no DirectAccess tunnel is up)"))
            return list(rule.dns), "AAAA"   # DirectAccess names: IPv6 only (N8)

        return servers_for


def wizard_rules(internal_suffix: str, nls_name: str, dns64: IPv6Address) -> list[NrptRule]:
    """The rules the Remote Access wizard creates (B3): the internal suffix to the DNS64 of
    the server's internal adapter, and an exemption for the NLS's name."""
    return [NrptRule(internal_suffix, (dns64,)), NrptRule(nls_name)]


class NrptRuleConfig(Strict):
    """One rule of ``server.nrpt``: a namespace and where its names go (``dns64``: the
    server's DNS64; IPv6 addresses: those DNS servers; none: an exemption)."""

    namespace: str
    dns: Literal["dns64"] | list[IPv6Address] | None = None

    @field_validator("dns", mode="before")
    @classmethod
    def _dns_word(cls, value: object) -> object:
        return one_word(value, "dns64", "the server's DNS64, or a list of IPv6 DNS servers, "
                        "or nothing for an exemption")

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        value = value.strip().lower()
        if not NAMESPACE.match(value):
            raise ValueError(f"{value!r}: expected a suffix (.corp.contoso.com), a name "
                             "(da.contoso.com) or '.' (every name)")
        return value

    def rule(self, dns64: IPv6Address) -> NrptRule:
        servers = (dns64,) if self.dns == "dns64" else tuple(self.dns or ())
        return NrptRule(self.namespace, servers)
