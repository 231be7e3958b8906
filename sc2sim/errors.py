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


class DatasetError(Sc2SimError):
    """A dataset file is there but unusable (not gzip, truncated, inconsistent, an undecodable image);
    the message names the file and how to fix it."""


class OutputError(Sc2SimError):
    """An output file cannot be written (``--out`` is a file, read-only, the disk is full, the path is too
    long); the message names the path. Files already written are left as they were."""


class PayloadError(Sc2SimError):
    """The edge received a payload its pipeline can tell is broken (wrong length, undecodable stream, a
    class index out of range): it refuses to classify it. See :meth:`sc2sim.pipelines.base.Pipeline.decode`."""
