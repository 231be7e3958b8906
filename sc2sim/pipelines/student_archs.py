"""Names of the bundled student architectures (``split:sc2?arch=A``) and their weight files.

Kept free of torch so the registry can check ``arch`` and list bundled values without loading
models; the recipes themselves live in :data:`sc2sim.train.student.ARCHS`.
"""

from __future__ import annotations

STUDENT_ARCHS = ("gdn", "res", "franken", "e2e")


def student_prefix(arch: str) -> str:
    """Bundle-name prefix of a student architecture: ``student-beta`` (gdn, the first bundled students)
    or ``student-<arch>-beta``."""
    return "student-beta" if arch == "gdn" else f"student-{arch}-beta"
