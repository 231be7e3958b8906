"""The ``sc2sim`` command line: one Typer app, commands registered by room.

Each module in :mod:`sc2sim.commands` defines ``register(app)`` that adds its
commands. Heavy imports (torch, models) happen inside the commands, so
``sc2sim --help`` and the simulator commands stay fast.
"""

from __future__ import annotations

import sys

import typer

from sc2sim.errors import Sc2SimError

app = typer.Typer(
    name="sc2sim",
    help=(
        "Split computing with supervised compression (SC2) testbed.\n\n"
        "Real models produce real bitstreams; their sizes, accuracy and measured compute "
        "times feed a discrete-event simulator of a mobile CPU, a wireless link and an edge GPU.\n\n"
        "Typical flow: `sc2sim pipelines` (what exists) -> `sc2sim profile` (measure on real samples) "
        "-> `sc2sim run scenarios/X.yaml` (simulate)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_DEBUG = {"on": False}


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks instead of one-line errors."),
) -> None:
    _DEBUG["on"] = debug


def _register_all() -> None:
    from sc2sim.commands import COMMAND_MODULES

    for module in COMMAND_MODULES:
        module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``sc2sim`` console script."""
    _register_all()
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        app(args=args, prog_name="sc2sim")  # standalone: usage errors print and exit 2
    except Sc2SimError as err:
        if debug:
            raise
        print(f"sc2sim: error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)

if __name__ == "__main__":
    main()
