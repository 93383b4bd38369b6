"""An event that acts on a device the network it names does not have (a portal login where no
portal asks for one, a NAT reboot on a network without a NAT) is an input error at the
event's line, not a traceback in the middle of the run."""

from pathlib import Path

import pytest

from sim.errors import InputError
from sim.scenario import load_scenario

KB = Path(__file__).resolve().parents[2] / "scenarios" / "kb2980667-untrusted-root.yaml"


@pytest.mark.parametrize("event, device", [
    ({"at": 60, "action": "portal_login", "network": "hotel"}, "captive portal"),
    ({"at": 60, "action": "nat_reboot", "network": "corp"}, "NAT"),
])
def test_an_event_on_a_device_the_network_lacks_is_an_input_error(tmp_path, event, device):
    text = KB.read_text(encoding="utf-8")
    assert "\nevents:\n" in text
    path = tmp_path / "s.yaml"
    path.write_text(text.replace("\nevents:\n", "\nevents:\n  - " + str(event).replace(
        "'", "") + "\n"), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_scenario(path)
    message = str(err.value)
    assert message.startswith(f"{path}:") and "events.0.network" in message
    assert f"has no {device}" in message


def test_a_portal_login_on_a_network_with_a_portal_still_loads():
    hotel = {"captive_portal": {"https": "drop"}}
    scenario = load_scenario(KB, {"networks.hotel.captive_portal": hotel["captive_portal"],
                                  "events": [{"at": 60, "action": "portal_login",
                                              "network": "hotel"}]})
    assert scenario.events[0].action == "portal_login"
