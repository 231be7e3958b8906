"""Console output shared by commands and long jobs: a rich Console wide enough for tables when output
is piped, and a progress bar (used by profiling and training alike)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def console() -> Console:
    """A Console that uses the terminal's width, or 160 columns when writing to a file or pipe."""
    c = Console()
    if not c.is_terminal:
        c = Console(width=160)
    return c


@contextmanager
def progress_bar(description: str, total: int, enabled: bool = True) -> Iterator[Progress]:
    """A rich progress bar counting steps; yields the Progress (task id 0, with an ``info`` field)."""
    cols = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*cols, disable=not enabled, transient=False) as prog:
        prog.add_task(description, total=total, info="")
        yield prog
