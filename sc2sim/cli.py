"""The ``sc2sim`` command line: one Typer app, commands registered by room.

Each module in :mod:`sc2sim.commands` defines ``register(app)`` that adds its
commands. Heavy imports (torch, models) happen inside the commands, so
``sc2sim --help`` and the simulator commands stay fast.
"""

from __future__ import annotations

import sys

import typer

from sc2sim.errors import Sc2SimError

try:  # typer >= 0.20 ships its own copy of click
    from typer._click import exceptions as _cx
except ImportError:  # pragma: no cover - older typer on click
    from click import exceptions as _cx

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
_BUILT: dict = {"registered": False, "command": None}  # once per process


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks instead of one-line errors."),
) -> None:
    _DEBUG["on"] = debug


def _register_all() -> None:
    """Add every command module's commands to the app, once per process (``main`` may run many times
    in one process, e.g. in tests; registering again would add every command again)."""
    if _BUILT["registered"]:
        return
    from sc2sim.commands import COMMAND_MODULES

    for module in COMMAND_MODULES:
        module.register(app)
    _BUILT["registered"] = True


def _reflow(cmd: object) -> None:
    """Join the lines of every paragraph of ``cmd``'s help and its subcommands' (docstrings break lines
    at 100 columns; the help printer wraps again to the terminal and kept every break, so lines came
    out cut short)."""
    help_text = getattr(cmd, "help", None)
    if help_text:
        cmd.help = "\n\n".join(" ".join(line.strip() for line in para.strip().splitlines())  # type: ignore[attr-defined]
                                for para in help_text.split("\n\n"))
    for sub in getattr(cmd, "commands", {}).values():
        _reflow(sub)


def _command() -> typer.core.TyperGroup:
    """The click command of the app, built once per process (building it costs about 0.1 s)."""
    if _BUILT["command"] is None:
        _BUILT["command"] = typer.main.get_command(app)
        _reflow(_BUILT["command"])
    return _BUILT["command"]


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``sc2sim`` console script.

    Every failure the user can fix ends as exactly one line ``sc2sim: error: ...`` on stderr and exit
    status 2: a :class:`Sc2SimError`, a command-line usage error (bad option value, missing argument,
    unknown command or option), or an ``OSError`` that names a file. ``--debug`` shows tracebacks.
    """
    _register_all()
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        rv = _command().main(args=args, prog_name="sc2sim", standalone_mode=False)
    except _cx.NoArgsIsHelpError as err:
        err.show()  # `sc2sim` alone: the help text
        sys.exit(err.exit_code)
    except _cx.ClickException as err:
        if debug:
            raise
        _fail(_usage_line(err, args), err.exit_code)
    except typer.Abort:
        print("Aborted.", file=sys.stderr)
        sys.exit(1)
    except Sc2SimError as err:
        if debug:
            raise
        _fail(str(err), err.exit_code)
    except OSError as err:
        # a file the command could not read or write (the writers of sc2sim.atomic already say which);
        # an OSError without a file name is not a user error: let it show its traceback
        if debug or not err.filename:
            raise
        from sc2sim.atomic import advice

        _fail(f"{err.filename}: {err.strerror or err} — {advice(err, 'check the path and its permissions')}", 2)
    if isinstance(rv, int) and not isinstance(rv, bool) and rv:
        sys.exit(rv)  # typer.Exit(code) from a command


def _usage_line(err: Exception, args: list[str]) -> str:
    """One line for a command-line usage error: ``COMMAND: OPTION: 'VALUE' — what is wrong (see --help)``."""
    ctx = getattr(err, "ctx", None)
    where = ctx.command_path if ctx is not None else "sc2sim"
    param = getattr(err, "param", None)
    if isinstance(err, _cx.BadParameter) and not isinstance(err, _cx.MissingParameter) and param is not None:
        opts = list(getattr(param, "opts", None) or [])
        name = opts[0] if opts and opts[0].startswith("-") else (param.name or "argument").upper()
        value = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in opts and a.startswith("-")), None)
        shown = f" {value!r}" if value is not None else ""
        return f"{where}: {name}:{shown} — {' '.join(err.message.split())} (see `{where} --help`)"
    return f"{where}: {' '.join(err.format_message().split())} — see `{where} --help`"


def _fail(message: str, code: int) -> None:
    """Print ``sc2sim: error: MESSAGE`` as exactly one line on stderr and exit with ``code``."""
    print("sc2sim: error: " + " ".join(message.split("\n")).replace("\r", " "), file=sys.stderr)
    sys.exit(code)

if __name__ == "__main__":
    main()
