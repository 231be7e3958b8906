"""The timing gate (sc2sim.profiling.fast_state): runs kept only in the host's fast state."""

from __future__ import annotations

import time

import pytest

from sc2sim.errors import ConfigError
from sc2sim.profiling.fast_state import PACE_AFTER_S, FastStateGate, default_budget_s, gate_note
from sc2sim.profiling.timing import Protocol


class ScriptedGate(FastStateGate):
    """A gate whose probes read a scripted sequence of times (us) instead of timing torch."""

    def __init__(self, probes: list[float], **kw) -> None:
        super().__init__(time.perf_counter_ns, **kw)
        self.script = list(probes)

    def probe_us(self) -> float:
        us = self.script.pop(0)
        self.probes += 1
        self._lower_floor(us)
        return us


def test_a_run_is_kept_only_between_two_fast_probes():
    gate = ScriptedGate([75, 74, 76, 75, 77, 150, 160, 76, 150, 77, 78], budget_s=60)
    for _ in range(5):
        gate.probe_us()  # the floor: the 5th-lowest probe, 77 us
    calls = []
    out, fast = gate.run(lambda: calls.append(len(calls)) or len(calls))
    # slow, slow -> wait; fast -> run 1; slow after -> discarded; fast -> run 2; fast after -> kept
    assert (out, fast) == (2, True)
    assert len(calls) == 2
    st = gate.stats()
    assert (st["waits"], st["discarded"], st["kept"], st["fast_share"]) == (2, 1, 1, 1.0)
    assert st["floor_us"] == 76 and gate.script == []  # the 76 us probe lowered it
    assert gate_note(st) is None


def test_one_freak_low_probe_does_not_move_the_floor():
    gate = ScriptedGate([75] * 10 + [5, 76])
    for _ in range(11):
        gate.probe_us()
    assert gate.floor_us == 75
    assert gate.fast()  # 76 us: within 20 % of 75, though 15x the freak reading


def test_the_gate_opens_when_its_budget_is_spent():
    gate = ScriptedGate([75] * 5 + [200] * 100_000, budget_s=0.001)
    for _ in range(5):
        gate.probe_us()
    out, fast = gate.run(lambda: "x")
    assert (out, fast) == ("x", False)
    assert gate.open and gate.stats()["spent_s"] >= 0.001
    assert gate.run(lambda: "y") == ("y", False)  # open for good: no more probes
    st = gate.stats()
    assert st["fast_share"] == 0.0 and st["kept"] == 2
    note = gate_note(st)
    assert note and "100 %" in note and "slow state" in note


def test_the_gate_opens_early_when_its_pace_cannot_finish_within_the_budget(monkeypatch):
    import sc2sim.profiling.fast_state as fs

    monkeypatch.setattr(fs, "PACE_AFTER_S", 0.0)
    gate = ScriptedGate([75] * 5, budget_s=10)
    for _ in range(5):
        gate.probe_us()
    gate.spent_s, gate.kept_fast = 1.0, 100  # 10 ms of waiting per kept run so far
    gate.pace(800)  # 8 s more: within the 9 s left
    assert not gate.open
    gate.pace(1000)  # 10 s more: not
    assert gate.open and gate.gave_up
    st = gate.stats()
    st["fast_share"] = 0.5
    assert "too seldom" in gate_note(st)
    never = ScriptedGate([75] * 5, budget_s=10)
    never.spent_s = 0.5
    monkeypatch.setattr(fs, "PACE_AFTER_S", 2.0)
    never.pace(1)
    assert not never.open  # not judged before 2 s of waiting
    monkeypatch.setattr(fs, "PACE_AFTER_S", 0.0)
    never.pace(1)
    assert never.open and never.gave_up  # no fast run yet: the waste per run is unbounded


def test_a_disabled_gate_keeps_every_run_without_probing():
    gate = ScriptedGate([], enabled=False)
    assert gate.run(lambda: 3) == (3, False)
    st = gate.stats()
    assert st["probes"] == 0 and st["fast_share"] is None and gate_note(st) is None


def test_real_probe_sets_a_floor():
    gate = FastStateGate(Protocol().clock())  # thread CPU time where it is fine-grained
    times = [gate.probe_us() for _ in range(20)]
    assert gate.floor_us == sorted(times)[4] > 0
    assert gate.fast() in (True, False)


def test_budget_from_the_environment(monkeypatch):
    monkeypatch.setenv("SC2SIM_TIMING_GATE_S", "0")
    assert default_budget_s() == 0.0
    gate = FastStateGate(Protocol().clock(), budget_s=default_budget_s())
    assert gate.open and gate.run(lambda: 1) == (1, False)
    monkeypatch.delenv("SC2SIM_TIMING_GATE_S")
    assert default_budget_s() == 0.0  # off by default
    for bad in ("soon", "-1", "nan"):
        monkeypatch.setenv("SC2SIM_TIMING_GATE_S", bad)
        with pytest.raises(ConfigError, match="SC2SIM_TIMING_GATE_S"):
            default_budget_s()


def test_timing_rounds_give_every_sample_its_fast_runs(fmnist_test):
    from sc2sim.pipelines import build_pipeline
    from sc2sim.profiling.measure import timing_rounds
    from sc2sim.profiling.timing import Protocol, pinned_threads

    pipe = build_pipeline("local:light")
    images = fmnist_test.head(4).images
    with pinned_threads(1):
        out, info = timing_rounds([pipe], images, Protocol(rounds=2, max_rounds=4, gate_budget_s=5))
        plain = timing_rounds([pipe], images, Protocol(rounds=2, max_rounds=2, gate=False))[1]
    times = out[0][0]
    assert (times > 0).all() and times.shape == (4, 4)
    g = info["gate"]
    assert g["enabled"] and g["probes"] >= 2 * 4 * 2 and g["floor_us"] > 0
    if g["fast_share"] == 1.0:  # every kept run was bracketed by fast probes: exactly two per sample
        assert info["rounds"] == 2 and g["kept"] == 8
    else:  # the budget ran out, or its pace showed it would (judged after PACE_AFTER_S): the old stop rule finished
        assert (g["spent_s"] >= 5 or (g["gave_up"] and g["spent_s"] >= PACE_AFTER_S)) and 2 <= info["rounds"] <= 4
    assert plain["gate"]["enabled"] is False and plain["gate"]["probes"] == 0 and plain["rounds"] == 2
    hist = plain["medians_by_round"]  # the stage medians after each round, for studying the stop rule
    assert len(hist) == 2 and set(hist[0]) == {pipe.name} and all(v > 0 for h in hist for v in h[pipe.name])
    off = timing_rounds([pipe], images, Protocol(rounds=2, max_rounds=2, gate_budget_s=0))[1]
    assert off["gate"]["enabled"] is False and off["gate"]["probes"] == 0  # a zero budget is the gate off
