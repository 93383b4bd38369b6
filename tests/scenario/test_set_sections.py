"""`--set` reaches a section the file leaves out (issue 19, Why 7): `networks.home.link.latency`
creates the `link` mapping, as the schema has one there; a misspelt path gets a "did you mean"
from the schema's keys as well as the file's, and no name of the file's own (a network) is
made up."""

import pytest

from sim.errors import InputError
from sim.scenario import load_scenario

from .test_broken import GOOD

HOME = GOOD.parent / "home-nat.yaml"


def test_a_section_the_file_lacks_is_created():
    s = load_scenario(HOME, {"networks.home.link.latency": "40ms"})
    assert s.networks["home"].link.latency == pytest.approx(0.04)
    proxied = load_scenario(HOME, {"networks.home.proxy.port": 3128})
    assert proxied.networks["home"].proxy.port == 3128


def test_a_misspelt_section_is_suggested_from_the_schema():
    with pytest.raises(InputError, match=r"--set networks\.home\.lnk\.latency: no key "
                                         r"networks\.home\.lnk \(did you mean 'link'\?\)"):
        load_scenario(HOME, {"networks.home.lnk.latency": "40ms"})


def test_no_network_is_made_up_from_a_misspelt_name():
    with pytest.raises(InputError, match=r"no key networks\.hme \(did you mean 'home'\?\)"):
        load_scenario(HOME, {"networks.hme.nat.preset": "symmetric"})
