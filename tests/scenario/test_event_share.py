"""Events on a share of a fleet (``share``) and roams that end (``back_after``): office
visits and hotel nights for fleets too big to name each laptop."""

from pathlib import Path

import yaml

from sim import simulate
from sim.fleet.shards import Fleet

SCENARIO = """
name: visits
duration: 2h
server:
  iphttps: {url: "https://da.contoso.com:443/IPHTTPS", certificate: iphttps}
pki:
  authorities:
    root: {}
  certificates:
    iphttps: {issuer: root, subject: da.contoso.com, not_after: 2027-06-01}
networks:
  home:
    nat: {preset: linux-masquerade}
    laptops_per_site: 1
  corp:
    corporate: true
clients:
  - {name: laptop, network: home, count: 60, roots: [root]}
events:
  - {at: 10m, action: roam, client: laptop, share: 0.25, network: corp}
"""


def _write(tmp_path: Path, events: list[dict] | None) -> Path:
    doc = yaml.safe_load(SCENARIO)
    if events is not None:
        doc["events"] = events
    path = tmp_path / "visits.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def run(tmp_path: Path, events: list[dict] | None = None, **overrides):
    sim = simulate(_write(tmp_path, events), overrides=overrides or None)
    result = sim.run(workers=1) if isinstance(sim, Fleet) else sim.run()
    return sim, {c["name"]: c for c in result.as_dict()["clients"]}


def test_a_share_of_a_fleet_roams_the_same_laptops_however_it_is_sharded(tmp_path):
    _, whole = run(tmp_path)
    _, shards = run(tmp_path, shard_size=7)
    moved = sorted(n for n, c in whole.items() if c["network"] == "corp")
    assert 8 <= len(moved) <= 22          # 25 % of 60, drawn laptop by laptop
    assert moved == sorted(n for n, c in shards.items() if c["network"] == "corp")
    assert all(whole[n]["location"] == "inside" for n in moved)
    assert all(c["location"] == "outside" and c["method"] == "teredo"
               for n, c in whole.items() if n not in moved)


def lines(client) -> list[tuple[float, str]]:
    """A laptop's timeline as (time, text)."""
    return [(t, "".join(parts)) for t, parts in client.da.state.events]


def test_each_event_draws_its_own_share(tmp_path):
    events = [{"at": "10m", "action": "roam", "client": "laptop", "share": 0.5,
               "network": "corp"},
              {"at": "20m", "action": "import_root", "client": "laptop", "share": 0.5,
               "authority": "root"}]
    sim, clients = run(tmp_path, events)
    moved = {n for n, c in clients.items() if c["network"] == "corp"}
    imported = {c.name for c in sim.clients if any("imported" in text for _, text in lines(c))}
    assert 15 <= len(moved) <= 45 and 15 <= len(imported) <= 45
    assert moved != imported and moved & imported and imported - moved


def test_a_visit_ends_back_at_the_laptops_own_site(tmp_path):
    events = [{"at": "10m", "action": "roam", "client": "laptop", "share": 0.3,
               "network": "corp", "back_after": "30m"}]
    before = {c.name: c.site for c in simulate(_write(tmp_path, events)).clients}
    sim, clients = run(tmp_path, events)
    assert all(c["network"] == "home" and c["method"] == "teredo" for c in clients.values())
    assert {c.name: c.site for c in sim.clients} == before     # each in its own home again
    visitors = [c for c in sim.clients if any("roamed to network corp" in text
                                              for _, text in lines(c))]
    assert 5 <= len(visitors) <= 35
    for c in visitors:
        roams = [(t, text) for t, text in lines(c) if "roamed to network" in text]
        assert roams == [(600.0, "network change: roamed to network corp"),
                         (2400.0, "network change: roamed to network home")]


def test_a_laptop_that_moved_on_during_its_visit_stays_where_it_went(tmp_path):
    events = [{"at": "10m", "action": "roam", "client": "laptop-00001", "network": "corp",
               "back_after": "30m"},
              {"at": "20m", "action": "roam", "client": "laptop-00001", "network": "home"}]
    sim, _ = run(tmp_path, events)
    roams = [t for t, text in lines(sim.clients[0]) if "roamed to network" in text]
    assert roams == [600.0, 1200.0]          # no trip "back" at 40 min


def test_an_event_may_name_any_member_of_a_fleet_of_any_size(tmp_path):
    from sim.scenario import load_scenario

    path = _write(tmp_path, [{"at": "1h", "action": "roam", "client": "laptop-150000",
                              "network": "corp"}])
    scenario = load_scenario(path, {"clients.0.count": 200_000})   # validated, not run
    assert scenario.events[0].client == "laptop-150000"
