"""No default or choice is stated twice: every enumeration of the scenario schema is the
device's own registry (NAT presets, behaviours and port allocations; portal and proxy modes;
client profiles; event actions; methods; key algorithms and EKUs)."""

from typing import Literal, get_args, get_origin

import pytest

from sim.directaccess.client import METHOD_ORDER
from sim.directaccess.profiles import PROFILES
from sim.net import firewall, portal, proxy
from sim.net.nat import PORT_ALLOCATIONS, PRESETS, Behaviour
from sim.net.natsettings import BehaviourName, PortAllocation, Preset
from sim.pki.registry import EKU_OIDS, KEY_ALGORITHMS
from sim.pki.spec import AuthoritySpec, CertificateSpec
from sim.scenario import events, model


def literals(annotation):
    if get_origin(annotation) is Literal:
        yield from get_args(annotation)
    for arg in get_args(annotation):
        yield from literals(arg)


def choices(model_type, field):
    return set(literals(model_type.model_fields[field].annotation))


@pytest.mark.parametrize(("literal", "registry"), [
    (Preset, set(PRESETS)),
    (BehaviourName, {b.label for b in Behaviour}),
    (PortAllocation, set(PORT_ALLOCATIONS)),
    (model.Profile, set(PROFILES)),
    (model.Action, set(events.ACTIONS)),
    (model.Method, set(METHOD_ORDER) - {"native"}),
], ids=["presets", "behaviours", "port-allocations", "profiles", "actions", "methods"])
def test_a_schema_literal_is_its_registry(literal, registry):
    assert set(get_args(literal)) == registry


def test_device_modes_are_the_devices_own():
    assert choices(portal.PortalConfig, "https") == set(portal.HTTPS_MODES)
    assert choices(proxy.ProxyConfig, "auth") == {"none", *proxy.AUTH_SCHEMES}
    assert choices(firewall.FirewallConfig, "default") <= set(firewall.ACTIONS)
    assert choices(firewall.FirewallConfig, "inbound_default") <= set(firewall.ACTIONS)
    assert choices(CertificateSpec, "eku") == set(EKU_OIDS)
    assert choices(CertificateSpec, "key") == choices(AuthoritySpec, "key") == \
        set(KEY_ALGORITHMS)


def test_event_keys_come_from_the_action_registry():
    """What an action needs and whether it acts on clients is said once, by the action."""
    assert tuple(n for n, a in events.ACTIONS.items() if a.on_clients) == model.ON_CLIENTS
    for name, action in events.ACTIONS.items():
        assert set(action.needs) <= {"client", "authority", "network"}, name
