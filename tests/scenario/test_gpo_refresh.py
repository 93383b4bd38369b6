"""gpo_refresh is gpupdate: policy that found no domain controller is tried again at once,
not at the next background refresh 90–120 minutes later."""

from sim.scenario import parse_scenario
from sim.scenario.build import Simulation

SCENARIO = """
name: gpupdate
duration: 3h
server:
  iphttps: {url: "https://da.contoso.com:443/IPHTTPS", certificate: iphttps}
pki:
  authorities:
    root: {}
    new-root: {}
  certificates:
    iphttps: {issuer: root, subject: da.contoso.com, not_after: 2027-06-01}
networks:
  home:
    nat: {preset: linux-masquerade}
  corp:
    corporate: true
clients:
  - {name: laptop, network: home, roots: [root]}
events:
  # a 2 s server outage, shorter than a Teredo solicitation's 4 s wait, so the laptop cannot
  # notice it: the deployment at 601 s finds no domain controller through the tunnel, and
  # nothing on the laptop changes afterwards
  - {at: 600, action: server_down}
  - {at: 601, action: gpo_deploy_root, authority: new-root}
  - {at: 602, action: server_up}
"""


def installed_at(extra: str = "") -> float:
    sim = Simulation(parse_scenario(SCENARIO + extra, "gpupdate.yaml"))
    sim.run()
    return next(t for t, parts in sim.clients[0].da.state.events
                if "Group Policy installed root new-root" in "".join(parts))


def test_gpupdate_applies_waiting_policy_at_once():
    background = installed_at()
    assert 601 + 90 * 60 <= background <= 601 + 120 * 60   # the next background refresh
    # gpupdate at 660 s, a second to settle, a ping to the DC through the tunnel
    assert 661 <= installed_at("  - {at: 660, action: gpo_refresh, client: laptop}\n") < 662
