"""Shared fixtures: an isolated profile cache, the real test images, CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    os.environ["SC2SIM_CACHE"] = str(tmp_path_factory.mktemp("profile-cache"))


@pytest.fixture(scope="session")
def fmnist_test():
    """The real Fashion-MNIST test split (installed by `make setup`)."""
    from sc2sim.data import load_fashion_mnist

    return load_fashion_mnist("test")


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m sc2sim.cli ARGS`` in a subprocess; returns the completed process (text mode)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "sc2sim.cli", *args], capture_output=True, text=True,
                          env=full_env, cwd=Path(__file__).resolve().parent.parent, timeout=600)


def cli(*args: str) -> int:
    """Run the sc2sim CLI in-process; returns the exit status."""
    from sc2sim.cli import main

    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture(autouse=True, scope="session")
def _short_timing_gate() -> None:
    """The suite runs with the optional timing gate on (so its path is exercised wherever a test
    profiles), waiting at most 2 s for the host's fast state per timing run, so a slow host cannot
    stretch the suite."""
    os.environ.setdefault("SC2SIM_TIMING_GATE_S", "2")
