"""The Python API: run a scenario from a notebook and get pandas DataFrames back.

>>> import sc2sim
>>> sc = sc2sim.load_scenario("scenarios/default.yaml")
>>> res = sc2sim.run(sc, samples=2000)              # profiles what is missing (cached), simulates
>>> res.summary[["point", "pipeline", "accuracy", "latency_p95_ms"]].head()
>>> res.best()                                      # the winner per sweep point (sc2sim.runs.decision)
>>> res.report("results/nb")                        # the same files and report as `sc2sim run --out`

The command line (``sc2sim run``) is a thin layer over this module. Torch is imported only when
something must be measured (a profile that is not cached).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from sc2sim.errors import ConfigError
from sc2sim.points import Point, expand
from sc2sim.profiling.timing import MIN_ROUNDS
from sc2sim.runs import RunResult, run_meta, write_results
from sc2sim.runs.decision import Objective, best_per_point
from sc2sim.scenario import Scenario
from sc2sim.scenario import load_scenario as _load_scenario


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario YAML (one-line ConfigError naming the file and field if it is wrong)."""
    return _load_scenario(path)


def read_profile_table(path: str | Path) -> pd.DataFrame:
    """Read a profile table (Parquet) and its ``sc2sim`` metadata into ``DataFrame.attrs['sc2sim']``."""
    from sc2sim.tables import read_table

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"--profile: {str(p)!r} — no such file; give a Parquet table written by `sc2sim profile`")
    try:
        return read_table(p)
    except Exception as err:  # noqa: BLE001 - any pyarrow failure is a bad input file
        raise ConfigError(f"--profile: {str(p)!r} — not a readable Parquet file ({err})") from None


def scenario_profile(sc: Scenario, profile: str | Path | pd.DataFrame | None = None, *, repeats: int = MIN_ROUNDS,
                     threads: int = 1, data_dir: str | None = None, progress: bool = False) -> tuple[pd.DataFrame, str]:
    """The profile table a scenario runs on and where it came from: a given table or file, or the
    profile cache (profiling whatever is missing; torch is imported only then)."""
    if isinstance(profile, pd.DataFrame):
        return profile, "given table"
    if profile is not None:
        return read_profile_table(profile), str(profile)
    from sc2sim.naming import PipelineNameError
    from sc2sim.profiling import index

    settings = {"dataset": sc.dataset, "data_dir": data_dir, "repeats": repeats, "threads": threads,
                "timed": sc.timing_samples, "idle_gap_ms": sc.timing_idle_gap_ms}
    key = index.index_key(sc.pipelines, sc.samples, **settings)
    table = index.lookup(key)
    if table is not None:  # the warm path: no model, no torch
        return table, "profile cache"
    from sc2sim.profiling import ensure_profile

    try:
        table = ensure_profile(sc.pipelines, sc.samples, dataset=sc.dataset, data_dir=data_dir, repeats=repeats,
                               threads=threads, progress=progress, timed=sc.timing_samples,
                               idle_gap_ms=sc.timing_idle_gap_ms)
    except PipelineNameError as err:  # a pipeline name the registry rejects: say which file and field
        where = f"pipelines[{sc.pipelines.index(err.name)}]" if err.name in sc.pipelines else "pipelines"
        raise err.in_field(getattr(sc, "_source", "scenario"), where) from None
    index.store(key, table)
    return table, "profile cache"


@dataclass
class Results:
    """A simulated scenario: ``requests`` (one row per request), ``summary`` (one row per sweep point x
    pipeline; columns in :mod:`sc2sim.runs.columns`), the run ``meta`` and ``info`` (engines, timing)."""

    scenario: Scenario
    points: list[Point]
    requests: pd.DataFrame | None
    summary: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def best(self, objective: Objective | None = None) -> pd.DataFrame:
        """The winner per sweep point by the scenario's objective (or ``objective``); see :mod:`sc2sim.runs.decision`."""
        return best_per_point(self.summary, objective or self.scenario.objective.to_objective())

    def save(self, out_dir: str | Path) -> list[Path]:
        """Write ``requests.parquet``, ``summary.csv`` and ``summary.json`` into ``out_dir`` (atomically)."""
        return write_results(out_dir, RunResult(self.requests, self.summary, self.info), self.meta)

    def report(self, out_dir: str | Path, latency: str | None = None) -> Path:
        """Save the results into ``out_dir`` and build the HTML report there (figures at the ``latency``
        statistic, default: the objective's); returns the page's path."""
        from sc2sim.report import build_report
        from sc2sim.report.data import written_run

        self.save(out_dir)
        result = RunResult(self.requests, self.summary, self.info)
        return build_report(out_dir, latency=latency, run=written_run(out_dir, result, self.meta))


def run(scenario: Scenario | str | Path, *, profile: str | Path | pd.DataFrame | None = None,
        samples: int | None = None, timing_samples: int | None = None, engine: str = "auto",
        repeats: int = MIN_ROUNDS, threads: int = 1, data_dir: str | None = None, progress: bool = False,
        on_step: Callable[[str], None] | None = None, scenario_file: str | None = None,
        profile_source: str | None = None, close_margin: float = 0.0) -> Results:
    """Simulate every sweep point x pipeline of ``scenario`` (a Scenario or a YAML path).

    ``samples``/``timing_samples`` override the scenario's profiled and timed test samples; ``profile``
    gives a profile table (or its Parquet file) instead of the profile cache. ``on_step(info)`` is
    called after each (point, pipeline); ``profile_source`` names a given table in messages. With
    ``close_margin`` > 0 (a fraction), two more simulations with every stage time that much longer and
    shorter mark each point whose winner would not survive it: the summary's ``close_call`` column
    (:func:`sc2sim.runs.decision.close_calls`; :data:`sc2sim.runs.decision.CLOSE_MARGIN` is the
    margin checked against cold profiles).
    """
    from sc2sim.cards import published_meta, with_published
    from sc2sim.sim import check_engine, simulate_scenario

    check_engine(engine)
    if not isinstance(scenario, Scenario):
        scenario_file = scenario_file or str(scenario)
        scenario = load_scenario(scenario)
    sc = scenario
    if samples is not None:
        sc.samples = samples
    if timing_samples is not None:
        sc.timing_samples = timing_samples
    table, source = scenario_profile(sc, profile, repeats=repeats, threads=threads, data_dir=data_dir,
                                     progress=progress)
    source = profile_source or source
    points = expand(sc)
    result = simulate_scenario(sc, table, engine=engine, profile_source=source, on_step=on_step)
    published = published_meta(table.attrs.get("sc2sim", {}))
    summary = with_published(result.summary, published)
    meta = run_meta(sc, points, scenario_file=scenario_file or getattr(sc, "_source", "<scenario>"), engine=engine,
                    profile_source=source, profile_meta=table.attrs.get("sc2sim", {}))
    if close_margin:
        summary = _mark_close_calls(sc, table, summary, engine, source, published, close_margin)
        meta["close_margin"] = float(close_margin)
    return Results(sc, points, result.records, summary, meta, result.info)


def _mark_close_calls(sc: Scenario, table: pd.DataFrame, summary: pd.DataFrame, engine: str, source: str,
                      published: dict, margin: float) -> pd.DataFrame:
    """``summary`` with the ``close_call`` column of :func:`sc2sim.runs.decision.close_calls` at ``margin``."""
    from sc2sim.cards import with_published
    from sc2sim.runs.decision import close_calls
    from sc2sim.sim import simulate_scenario

    if not 0 < margin < 1:
        raise ValueError(f"close margin {margin!r} — allowed: a fraction in (0, 1)")
    up, down = (with_published(simulate_scenario(sc, table, engine=engine, keep_records=False, profile_source=source,
                                                 stage_scale=1 + sign * margin).summary, published) for sign in (1, -1))
    flags = close_calls(summary, up, down, sc.objective.to_objective())
    return summary.assign(close_call=summary["point"].map(flags).fillna(False).astype(bool))
