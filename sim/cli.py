"""The ``dasim`` command: thin wrappers over the package's public API.

Heavy modules (scapy, matplotlib) are imported inside the commands that need them, so that a
plain ``dasim run`` starts fast.
"""

from __future__ import annotations

import sys

import click

from sim.errors import InputError


def _input_errors() -> tuple[type[BaseException], ...]:
    from sim.pki.errors import PkiInputError

    return (InputError, PkiInputError)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dasim")
def cli() -> None:
    """Simulate how Windows DirectAccess clients reach their server."""


@cli.command("check-cert")
@click.argument("chain", type=click.Path(dir_okay=True, path_type=str))
@click.option("--roots", "roots", multiple=True, type=click.Path(path_type=str),
              help="Trusted Root Certification Authorities: a file or folder (repeatable).")
@click.option("--intermediates", "intermediates", multiple=True, type=click.Path(path_type=str),
              help="Intermediate Certification Authorities: a file or folder (repeatable).")
@click.option("--host", help="The name (or IP address) clients connect to, e.g. the IP-HTTPS "
                             "URL's host.")
@click.option("--at", "at", help="Check at this ISO date or time (UTC if no offset); "
                                 "default now.")
@click.option("--crl-check", is_flag=True, help="Enforce revocation checking (as Windows 7 "
                                                "IP-HTTPS clients do).")
@click.option("--crl", "crl_files", multiple=True, type=click.Path(path_type=str),
              help="A CRL file already at hand (repeatable).")
@click.option("--online", is_flag=True, help="Download AIA and CRL URLs (otherwise nothing "
                                             "is fetched).")
def check_cert(chain: str, roots: tuple[str, ...], intermediates: tuple[str, ...],
               host: str | None, at: str | None, crl_check: bool, crl_files: tuple[str, ...],
               online: bool) -> None:
    """Verify CHAIN (leaf first: PEM, DER or .p7b) as a DirectAccess client's chain engine would.

    Exit status 0 trusted, 1 not trusted, 2 bad input.
    """
    import datetime as dt
    import textwrap

    from sim import pki

    presented = pki.load_chain(chain)
    root_certs = [c for p in roots for c in pki.load_certificates(p)]
    inter_certs = [c for p in intermediates for c in pki.load_certificates(p)]
    crls = [c for p in crl_files for c in pki.load_crls(p)]
    when = None
    if at:
        try:
            when = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            raise pki.PkiInputError(f"--at: '{at}' is not an ISO date or time") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
    result = pki.verify_chain(presented, roots=root_certs, intermediates=inter_certs, host=host,
                              at=when, fetch=_url_fetch if online else None,
                              check_revocation=crl_check, crls=crls)
    click.echo(f"{result.hex} {result.name}")
    click.echo(f"  {result.message}")
    click.echo("Path:")
    for i, cert in enumerate(result.path):
        flags = result.element_flags[i] if i < len(result.element_flags) else 0
        names = ", ".join(pki.TrustStatus(flags).names()) or "ok"
        click.echo(f"  [{i}] {cert.subject.rfc4514_string()}")
        click.echo(f"      thumbprint {result.thumbprints[i]}  "
                   f"({pki.result.SOURCE_TEXT.get(result.sources[i], result.sources[i])})  "
                   f"{names}")
    if result.flags:
        click.echo("Trust status: " + ", ".join(result.flags.names()))
    click.echo("Explanation:")
    click.echo(textwrap.fill(result.explain(), width=100, initial_indent="  ",
                             subsequent_indent="  "))
    if not result.trusted:
        sys.exit(1)  # SystemExit passes through main(); click's Exit would be swallowed


def _url_fetch(url: str) -> bytes | None:
    """Download an AIA or CRL URL for check-cert --online (None when unreachable)."""
    import urllib.request

    if not url.lower().startswith(("http://", "https://", "file://")):
        return None
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.read(16 * 1024 * 1024)
    except Exception:
        return None


# -- simulation commands -----------------------------------------------------------------------

SCENARIO = click.argument("scenario_file", metavar="FILE",
                          type=click.Path(dir_okay=False, path_type=str))
SEED = click.option("--seed", type=int, default=None, help="Override the scenario's seed.")
SETS = click.option("--set", "sets", multiple=True, metavar="PATH=VALUE",
                    help="Change one value of the scenario: a dotted path, list items by "
                         "index (clients.0.count=20000). Repeatable.")


def _overrides(sets: tuple[str, ...]) -> dict[str, object]:
    """``--set`` options as scenario overrides: one value each (a sweep takes several)."""
    from sim.fleet.sweep import parse_set

    overrides = {}
    for option in sets:
        path, values = parse_set(option)
        if len(values) != 1:
            raise InputError(f"--set {option}: one value here; dasim sweep runs several "
                             "(or write a list in brackets: [a, b])")
        overrides[path] = values[0]
    return overrides


def _fleet(path: str, seed: int | None, sets: tuple[str, ...] = ()):
    from sim.fleet.shards import Fleet
    from sim.scenario import load_scenario

    scenario = load_scenario(path, _overrides(sets) or None)
    for i, event in enumerate(scenario.events):   # a shortened run: say what it leaves out
        if event.at >= scenario.duration:
            click.echo(f"dasim: note: {path}: events.{i} ({event.action} at {event.at:g} s) "
                       f"comes after the run's end ({scenario.duration:g} s): it does not "
                       "happen", err=True)
    return Fleet(scenario, seed=seed)


def _simulate(path: str, seed: int | None, trace: bool = False, client: str | None = None,
              sets: tuple[str, ...] = (), shard: int | None = None):
    """A live simulation of the scenario: for a fleet in shards, the shard carrying
    ``client``, or number ``shard`` (default the first)."""
    return _fleet(path, seed, sets).simulation(client, trace, shard)


def _event_label(event) -> str:
    """A scenario event as a figure marks it: "roam 15 % to corp for 8 h"."""
    text = event.action.replace("_", " ")
    if event.share is not None:
        text += f" {event.share:.0%}"
    if event.action == "roam":
        text += f" to {event.network}"
    if event.back_after is not None:
        text += f" for {event.back_after / 3600:g} h"
    return text


def _point_client(point: str | None) -> str | None:
    return point.partition(":")[2] if point and point.startswith("client:") else None


def _point_shard(point: str | None) -> int | None:
    """The shard a site of a later shard lives in, as results name it: nat:shard3/home#2."""
    import re

    found = re.match(r"nat:shard(\d+)/", point or "")
    return int(found.group(1)) if found else None


def _shard_bar(total: int):
    """A progress bar over a fleet's shards (shown only on a terminal)."""
    from tqdm import tqdm

    return tqdm(total=total, unit="shard", desc="fleet", file=sys.stderr, disable=None,
                leave=False)


WORKERS = click.option("--workers", type=click.IntRange(min=1), default=None,
                       help="Processes for a fleet's shards (default: one per core).")
SCHEDULER = click.option("--scheduler", default=None,
                         help="Run a fleet's shards on a Dask cluster (tcp://HOST:8786).")


def _run_fleet(fleet, workers: int | None, scheduler: str | None, **kwargs):
    """The fleet's result, its shards on a local pool or on the Dask cluster named."""
    if scheduler is None or fleet.shards == 1:
        return fleet.run(workers=workers, progress=_shard_bar, **kwargs)
    from sim.fleet.sweep import dask_executor

    executor, client = dask_executor(scheduler)
    try:
        return fleet.run(executor=executor, progress=_shard_bar, **kwargs)
    finally:
        executor.shutdown()
        client.close()


def _atomic_write(path: str, writer) -> None:
    """Write through a temporary file so that a failure leaves nothing half-written."""
    import contextlib
    import os
    import tempfile

    folder = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=suffix, prefix=".dasim-")
    os.close(fd)
    # mkstemp makes the file private (0600); the result gets the mode any new file would
    # (or the one it replaces keeps its own)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    with contextlib.suppress(OSError):   # a file system without modes: still written
        os.chmod(tmp, mode)
    try:
        writer(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _check_writable(path: str | None, option: str) -> None:
    import os

    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"{option} {path}: folder {folder} does not exist")


@cli.command()
@SCENARIO
@SEED
@SETS
@click.option("--json", "as_json", is_flag=True, help="Print the dasim.result/1 JSON.")
@click.option("--pcap", type=click.Path(dir_okay=False, path_type=str),
              help="Write the packets seen at --point to this pcap file.")
@click.option("--point", default=None, help="Capture point for --pcap: client:NAME (default "
                                            "the first client), nat:NETWORK (or a site: "
                                            "nat:home#2, nat:shard3/home#2) or server.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=str),
              help="Write a figure (PNG or SVG): the attempts timeline, or outcomes by "
                   "network for fleets.")
@click.option("--interfaces", is_flag=True, help="Include interface-state histories in JSON.")
@WORKERS
@SCHEDULER
def run(scenario_file: str, seed: int | None, sets: tuple[str, ...], as_json: bool,
        pcap: str | None,
        point: str | None, plot: str | None, interfaces: bool, workers: int | None,
        scheduler: str | None) -> None:
    """Run a scenario and report how each client connected (exit 0 whatever the outcome).
    A fleet bigger than its shard_size runs as shards on WORKERS processes."""
    import json

    from sim.report.text import summary_table

    _check_writable(pcap, "--pcap")
    _check_writable(plot, "--plot")
    fleet = _fleet(scenario_file, seed, sets)
    sim = fleet.simulation(_point_client(point), shard=_point_shard(point))
    records = None
    if pcap:
        from sim.report.capture import attach_capture

        records = attach_capture(sim, point)
    result = _run_fleet(fleet, workers, scheduler, local=sim).as_dict(
        with_interfaces=interfaces)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(summary_table(result), nl=False)
    if pcap:
        from sim.report.pcap import write_pcap

        _atomic_write(pcap, lambda tmp: write_pcap(tmp, records, sim.start))
        if not as_json:
            click.echo(f"wrote {len(records)} packets to {pcap}")
    if plot:
        from sim.report import plots

        draw = plots.outcome_by_network if len(result["clients"]) > 12 else plots.timeline
        _atomic_write(plot, lambda tmp: draw(result, tmp))
        if not as_json:
            click.echo(f"wrote {plot}")


@cli.command("list")
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=str))
def list_scenarios(folder: str | None) -> None:
    """The scenario library, one line each; a file that does not load is listed with its
    error, and the exit status is 2 (a folder of exercises is still listed whole)."""
    from pathlib import Path

    from sim.scenario import load_scenario

    base = Path(folder) if folder else Path("scenarios")
    if not base.is_dir():
        raise InputError(f"{base}: no scenario folder here (give one: dasim list FOLDER)")
    files = sorted(base.glob("*.yaml"))
    width = max((len(f.stem) for f in files), default=10)
    broken = 0
    for f in files:
        try:
            description = load_scenario(f).description
        except _input_errors() as exc:
            broken += 1
            description = f"(does not load: {exc})"
        click.echo(f"{f.stem:<{width}}  {description}")
    if broken:
        raise InputError(f"{base}: {broken} of {len(files)} scenario files do not load")


NETSH_VIEWS = {
    ("interface", "httpstunnel", "show", "interfaces"): "iphttps",
    ("interface", "teredo", "show", "state"): "teredo",
    ("interface", "6to4", "show", "state"): "6to4",
}


def _netsh_command(words: tuple[str, ...]) -> tuple[str, ...]:
    """The command ``words`` name, taking each word's abbreviation as netsh does (``int
    httpstunnel sh int``; KB 2980667's ``interface http show interface``)."""
    typed = [w.lower() for w in words]
    for command in NETSH_VIEWS:
        if len(typed) == len(command) and all(
                full.startswith(w) and (len(w) >= 2 or w == full)
                for w, full in zip(typed, command, strict=True)):
            return command
    raise InputError(f"netsh: {' '.join(words)!r} is not a command this simulator shows; "
                     "it shows " + "; ".join(" ".join(k) for k in NETSH_VIEWS))


@cli.command(context_settings={"ignore_unknown_options": True})
@SCENARIO
@click.option("--client", "client_name", required=True, help="The client to look at.")
@click.option("--at", "at_s", type=str, default=None,
              help="Simulated time (seconds or 5m); default: the end of the run.")
@SEED
@SETS
@click.argument("words", nargs=-1, required=True)
def netsh(scenario_file: str, client_name: str, at_s: str | None, seed: int | None,
          sets: tuple[str, ...], words: tuple[str, ...]) -> None:
    """Print what netsh would show on a client at a simulated time, e.g.

    dasim netsh FILE --client laptop --at 120 interface httpstunnel show interfaces

    \b
    Commands (words may be abbreviated, as netsh allows):
      interface httpstunnel show interfaces   (KB 2980667: interface http show interface)
      interface teredo show state
      interface 6to4 show state
    """
    from sim.report import netsh as render
    from sim.scenario import parse_duration

    key = _netsh_command(words)
    try:
        at = parse_duration(at_s) if at_s is not None else None
    except ValueError as exc:
        raise InputError(f"--at: {exc}") from None
    sim = _simulate(scenario_file, seed, client=client_name, sets=sets)
    client = sim.client(client_name)
    if at is not None and at > sim.duration:
        raise InputError(f"--at {at_s}: after the run's end ({sim.duration:g} s)")
    sim.run()
    t = sim.duration if at is None else at
    da = client.da
    view = NETSH_VIEWS[key]
    if view == "iphttps":
        snap = render.at_time(da.iphttps.status.history, t) if da.iphttps else None
        click.echo(render.httpstunnel_interfaces(snap, sim.policy.iphttps_url), nl=False)
    elif view == "teredo":
        snap = render.at_time(da.teredo.status.history, t) if da.teredo else None
        if snap is None:
            snap = {"type": da.teredo_type, "server_name": str(sim.policy.teredo_server or ""),
                    "state": "offline", "network": "managed" if da.managed else "unmanaged",
                    "nat": "unknown", "error": next((a.reason for a in da.state.attempts
                                                     if a.method == "teredo"), "")}
        click.echo(render.teredo_state(snap, da.teredo_refresh), nl=False)
    else:
        history = [(tt, {"state": s}) for tt, s in da.sixtofour_history]
        snap = render.at_time(history, t)
        click.echo(render.sixtofour_state(snap["state"] if snap else None,
                                          str(sim.policy.relay) if sim.policy.relay else None),
                   nl=False)


# above this many laptops, explain tells one story for each network and outcome
FLEET_STORIES = 20


@cli.command()
@SCENARIO
@click.option("--client", "client_name", default=None,
              help="The client (default: all, or one for each network and outcome of a fleet).")
@SEED
@SETS
def explain(scenario_file: str, client_name: str | None, seed: int | None,
            sets: tuple[str, ...]) -> None:
    """Tell each client's story in plain sentences, with causes and remedies; for a fleet,
    one story for each network and outcome, with how many laptops it stands for."""
    from sim.report.narrative import narrate

    sim = _simulate(scenario_file, seed, trace=True, client=client_name, sets=sets)
    result = sim.run()
    by_name = {c.name: c for c in result.clients}

    def story(c) -> str:
        return narrate(by_name[c.name].as_dict(), c.da.state.timeline(),
                       sim.kernel.trace.records, c.host, site=c.site,
                       corporate=sim.is_corporate(c.network))

    if client_name or len(sim.clients) <= FLEET_STORIES:
        targets = [sim.client(client_name)] if client_name else sim.clients
        click.echo("\n".join(story(c) for c in targets), nl=False)
        return
    groups: dict[tuple[str, str], list] = {}
    for c in sim.clients:
        r = by_name[c.name]
        outcome = r.method or ("inside the corporate network" if r.location == "inside" else
                               f"no tunnel, last error {r.last_error}" if r.last_error else
                               "no tunnel")
        groups.setdefault((c.network, outcome), []).append(c)
    where = f" in shard {sim.shard + 1} of {sim.shards}" if sim.shards > 1 else ""
    click.echo(f"{len(sim.clients)} laptops{where}: one story for each network and outcome "
               f"({len(groups)}); --client NAME tells any laptop's own.")
    for (network, outcome), members in sorted(groups.items()):
        click.echo(f"\n== {len(members)} on {network}: {outcome} (for example "
                   f"{members[0].name})\n")
        click.echo(story(members[0]), nl=False)


@cli.command()
@SCENARIO
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=str))
@click.option("--point", default=None, help="client:NAME (default the first client), "
                                            "nat:NETWORK (or a site: nat:home#2, "
                                            "nat:shard3/home#2) or server.")
@SEED
@SETS
def pcap(scenario_file: str, out: str, point: str | None, seed: int | None,
         sets: tuple[str, ...]) -> None:
    """Write the packets a capture point saw to a pcap file that Wireshark opens."""
    from sim.report.capture import attach_capture
    from sim.report.pcap import write_pcap

    _check_writable(out, "--out")
    sim = _simulate(scenario_file, seed, client=_point_client(point), sets=sets,
                    shard=_point_shard(point))
    records = attach_capture(sim, point)
    sim.run()
    _atomic_write(out, lambda tmp: write_pcap(tmp, records, sim.start))
    click.echo(f"wrote {len(records)} packets to {out}")


PLOT_KINDS = ("timeline", "sequence", "outcomes", "ttc", "connected")


@cli.command()
@SCENARIO
@click.option("--kind", type=click.Choice(PLOT_KINDS), default="timeline", show_default=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=str))
@click.option("--client", "client_name", default=None, help="For --kind sequence.")
@SEED
@SETS
@WORKERS
@SCHEDULER
def plot(scenario_file: str, kind: str, out: str, client_name: str | None,
         seed: int | None, sets: tuple[str, ...], workers: int | None,
         scheduler: str | None) -> None:
    """Draw a figure for a design document (PNG or SVG by the file's suffix)."""
    from sim.report import plots
    from sim.report.capture import attach_capture, sequence_hops

    _check_writable(out, "--out")
    if not out.lower().endswith((".png", ".svg")):
        raise InputError(f"--out {out}: the file must end in .png or .svg")
    fleet = _fleet(scenario_file, seed, sets)
    records = None
    if kind == "sequence":   # one laptop's packets: its shard is enough
        sim = fleet.simulation(client_name, trace=True)
        name = client_name or sim.clients[0].name
        records = attach_capture(sim, f"client:{name}")
        result = sim.run().as_dict()
    else:
        result = _run_fleet(fleet, workers, scheduler, series=kind == "connected").as_dict()
    series = fleet.series or []
    if kind == "timeline":
        _atomic_write(out, lambda tmp: plots.timeline(result, tmp))
    elif kind == "outcomes":
        _atomic_write(out, lambda tmp: plots.outcome_by_network(result, tmp))
    elif kind == "ttc":
        _atomic_write(out, lambda tmp: plots.ttc_cdf(result, tmp))
    elif kind == "connected":
        events = [(e.at, _event_label(e)) for e in fleet.scenario.events]
        _atomic_write(out, lambda tmp: plots.connected_share(
            series, tmp, f"{result['scenario']}: clients reaching the intranet", events))
    else:
        hops, total = sequence_hops(sim, name, records)
        title = f"{result['scenario']}: {name}"
        if total > len(hops):
            title += f" (its first {len(hops)} of {total} packets)"
        _atomic_write(out, lambda tmp: plots.sequence(hops, tmp, title))
    click.echo(f"wrote {out}")


@cli.command()
@SCENARIO
@click.option("--set", "sets", multiple=True, metavar="PATH=V1,V2",
              help="A dotted path into the scenario and its values (repeatable); e.g. "
                   "networks.home.nat.udp_timeout=30,120,300 or clients.0.profile=windows7.")
@click.option("--replications", type=int, default=1, show_default=True,
              help="Monte Carlo replications of each combination.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="The sweep's seed; each run's seed is derived from it.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Local worker processes (default: one per core).")
@click.option("--scheduler", default=None, help="A Dask scheduler (tcp://HOST:8786).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="results.csv or results.parquet (one row per client per run).")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=str),
              help="A summary figure: connected share per combination.")
def sweep(scenario_file: str, sets: tuple[str, ...], replications: int, seed: int,
          workers: int | None, scheduler: str | None, out: str, plot: str | None) -> None:
    """Run the cartesian product of --set values × replications, on a local process pool or
    a Dask cluster; an interrupted sweep resumes from its journal (OUT.journal)."""
    from pathlib import Path

    from tqdm import tqdm

    from sim.fleet import sweep as sw
    from sim.fleet.pool import stop_now

    _check_writable(out, "--out")
    _check_writable(plot, "--plot")
    if not out.endswith((".csv", ".parquet")):
        raise InputError(f"--out {out}: use a .csv or .parquet file")
    parsed = [sw.parse_set(s) for s in sets]
    params = [p for p, _ in parsed]
    # a --set with one value is a constant of the sweep: named once, not on every combination
    varied = [p for p, values in parsed if len(values) > 1]
    fixed = {p: values[0] for p, values in parsed if len(values) == 1}
    client = None
    if scheduler:
        executor, client = sw.dask_executor(scheduler)
    else:
        executor = sw.local_executor(workers)
    journal = sw.Journal(Path(out + ".journal"))

    def progress(total: int, done: int):
        if done:
            click.echo(f"resuming: {done} of {total} runs already in {journal.path}", err=True)
        return tqdm(total=total, initial=done, unit="run", desc="sweep", file=sys.stderr,
                    disable=None)

    try:
        rows = sw.run_sweep(scenario_file, parsed, replications, seed, executor, journal,
                            progress)
    except BaseException:   # Ctrl-C: stop at once; the journal keeps the finished runs
        stop_now(executor)
        raise
    else:
        executor.shutdown()
    finally:
        if client is not None:
            client.close()
    df = sw.table(rows, params)
    _atomic_write(out, lambda tmp: sw.write_table(df, Path(tmp)))
    failed = df[df["error"].notna()]
    runs = df["run_id"].nunique()
    click.echo(f"{runs} runs, {len(df)} rows written to {out}")
    for _, row in failed.drop_duplicates("run_id").iterrows():
        values = ", ".join(f"{p}={row[p]}" for p in params)
        click.echo(f"run {row['run_id']} ({values}, replication {row['replication']}) "
                   f"failed: {row['error']}", err=True)
    if len(failed):
        click.echo(f"the completed runs stay in {journal.path}: the same command again "
                   "retries only the failed ones", err=True)
    else:   # the table is the whole sweep: the journal has done its job
        journal.path.unlink(missing_ok=True)
    if replications > 1 and len(df) and not sw.replications_differ(df, params):
        click.echo(f"all {replications} replications of each combination gave the same "
                   "outcomes: nothing random in this scenario changes them (a latency range, "
                   "jitter, loss or an event's share would); --replications 1 would do",
                   err=True)
    ok = df[df["error"].isna()]
    if params and len(ok):
        if fixed:
            click.echo("with " + ", ".join(f"{p}={v}" for p, v in fixed.items()) + ":")
        groups = ok.groupby(varied, sort=False) if varied else [((), ok)]   # in --set order
        for combo, runs in groups:
            label = combo if isinstance(combo, tuple) else (combo,)
            split = ", ".join(f"{m} {n / len(runs):.0%}"
                              for m, n in runs["method"].value_counts().items())
            checks = runs["probes_answered"].sum() + runs["probes_unanswered"].sum()
            answered = (f"; connectivity checks answered "
                        f"{runs['probes_answered'].sum() / checks:.1%}" if checks else "")
            name = ", ".join(f"{p}={v}" for p, v in zip(varied, label, strict=True))
            inside = ((runs["location"] == "inside") & ~runs["connected"].astype(bool)).mean()
            errors = runs[~runs["connected"].astype(bool) & (runs["location"] != "inside")]
            errors = ", ".join(f"{e} {n / len(runs):.0%}" for e, n in
                               errors["last_error"].fillna("no error").value_counts().items())
            click.echo(f"  {name or 'all runs'}: {runs['connected'].mean():.0%} connected"
                       + (f" ({split})" if split else "")
                       + (f", {inside:.0%} inside" if inside else "")
                       + (f"; not connected: {errors}" if errors else "") + answered)
    if plot and not len(ok):
        click.echo(f"--plot {plot}: not drawn, since no run completed", err=True)
    elif plot:
        from sim.report import plots

        _atomic_write(plot, lambda tmp: plots.sweep_summary(ok, varied, tmp, fixed))
    if len(failed):   # the table is written, but the sweep is not whole
        sys.exit(1)


def main(argv: list[str] | None = None) -> None:
    """Entry point: bad input gives one message on stderr and exit status 2."""
    try:
        cli.main(args=argv, prog_name="dasim", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, click.UsageError) else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        if isinstance(exc, _input_errors()):
            click.echo(f"dasim: error: {exc}", err=True)
            sys.exit(2)
        from sim.fleet.shards import WorkerLost

        if isinstance(exc, WorkerLost):   # not the input's fault, and not a bug to trace
            click.echo(f"dasim: error: {exc}", err=True)
            sys.exit(1)
        raise
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
