"""The kernel's two-heap ``Environment`` runs events in exactly SimPy's order (time,
priority, event id), whatever mix of near and far delays, ties and zero delays."""

import random

import pytest
import simpy

from sim.net.kernel import NEAR, Environment, call_later


def _script(env: simpy.Environment, seed: int) -> list:
    """Processes and callbacks that schedule each other with delays below and above NEAR,
    exact ties and zero delays; returns the log of (time, what) they fill."""
    rng = random.Random(seed)
    log: list = []
    delays = [0.0, 0.001, 0.5, NEAR, NEAR * 3, 30.0]

    def proc(name: str):
        for i in range(20):
            yield env.timeout(rng.choice(delays))
            log.append((env.now, name, i))
            if i % 3 == 0:
                ev = env.event()
                ev.callbacks.append(lambda e, n=name, i=i: log.append((env.now, "ok", n, i)))
                ev.succeed()

    def timer(n: int):
        def fire(_e):
            log.append((env.now, "timer", n))
            if n < 60:
                env.timeout(rng.choice(delays)).callbacks.append(lambda _t: timer(n + 1))
        env.timeout(rng.choice(delays)).callbacks.append(fire)

    for k in range(6):
        env.process(proc(f"p{k}"))
    timer(0)
    return log


@pytest.mark.parametrize("seed", range(5))
def test_events_run_in_simpys_order(seed):
    ours, stock = Environment(), simpy.Environment()
    a, b = _script(ours, seed), _script(stock, seed)
    ours.run(until=200)
    stock.run(until=200)
    assert a == b and len(a) > 100
    assert ours.now == stock.now == 200


def test_step_peek_and_run_to_an_event_agree_with_simpy():
    for env in (Environment(), simpy.Environment()):
        env.timeout(5)
        env.timeout(0.25)
        assert env.peek() == 0.25
        env.step()
        assert env.now == 0.25 and env.peek() == 5
        done = env.timeout(2, value="v")
        assert env.run(until=done) == "v" and env.now == 2.25
        env.run()
        assert env.now == 5 and env.peek() == float("inf")
        with pytest.raises(simpy.core.EmptySchedule):
            env.step()


def test_light_timers_share_the_order():
    env, log = Environment(), []
    for i, delay in enumerate([NEAR * 2, 0.1, NEAR * 2, 0.0, NEAR]):
        call_later(env, delay, lambda t: log.append((env.now, t._value)), value=i)
    env.run()
    assert log == [(0.0, 3), (0.1, 1), (NEAR, 4), (NEAR * 2, 0), (NEAR * 2, 2)]
    assert env.pending == 0


def test_a_failed_event_nobody_defused_crashes_the_run():
    env = Environment()
    env.event().fail(ValueError("boom"))
    with pytest.raises(ValueError, match="boom"):
        env.run()
