"""Console output shared by commands: a rich Console wide enough for tables when output is piped."""

from __future__ import annotations

from rich.console import Console


def console() -> Console:
    """A Console that uses the terminal's width, or 160 columns when writing to a file or pipe."""
    c = Console()
    if not c.is_terminal:
        c = Console(width=160)
    return c
