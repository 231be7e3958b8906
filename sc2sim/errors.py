"""Errors that the command line turns into one clear line and exit status 2."""

from __future__ import annotations


class Sc2SimError(Exception):
    """A user-facing error: bad input, a missing file, a missing dataset.

    The CLI prints ``str(error)`` on one line (no traceback unless ``--debug``)
    and exits with :attr:`exit_code`.
    """

    exit_code: int = 2


class DatasetMissingError(Sc2SimError):
    """The dataset files are not where we looked; the message names the install command."""


class ConfigError(Sc2SimError):
    """A scenario, device profile or pipeline name is wrong; the message names file, field and what is allowed."""
