"""Atomic file writes: a temporary file in the same folder, then a rename, so a reader (or a resumed
run) never sees half a file and a failed write leaves the previous file as it was. Torch-free, used
by every room.

Any ``OSError`` while writing (the target is under a file, the folder is read-only, the disk is full,
the path is too long) becomes an :class:`~sc2sim.errors.OutputError` naming the path, on one line.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Callable

from sc2sim.errors import OutputError

_ADVICE = {
    errno.ENOSPC: "free some space or choose another --out folder",
    errno.EDQUOT: "free some space or choose another --out folder",
    errno.EACCES: "choose a folder you may write to (--out)",
    errno.EPERM: "choose a folder you may write to (--out)",
    errno.EROFS: "choose a folder on a writable file system (--out)",
    errno.EEXIST: "a file stands where a folder is needed: --out must be a folder or a new path",
    errno.ENOTDIR: "a file stands where a folder is needed: --out must be a folder or a new path",
    errno.EISDIR: "a folder stands where the file goes: remove it or choose another --out",
    errno.ENAMETOOLONG: "the path is longer than the OS allows (255 bytes per name, 4096 per path): choose a shorter --out",
}


def advice(err: OSError, default: str = "choose another --out folder") -> str:
    """What to do about an OSError met while writing (by its errno)."""
    return _ADVICE.get(err.errno or 0, default)


def output_error(path: str | Path, err: OSError) -> OutputError:
    """A one-line :class:`OutputError` for ``err`` raised while writing ``path``."""
    where = f" at {err.filename}" if err.filename and str(err.filename) != str(path) else ""
    return OutputError(f"{path}: cannot write ({err.strerror or err}{where}) — {advice(err)}")


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` and move the result to ``path`` atomically; clean up on any failure.

    OSErrors become :class:`OutputError` (one line naming ``path``); ``path`` itself is untouched then.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:200]}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise output_error(path, err) from None
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise output_error(path, exc) from None
        raise
    return path


def check_output_dir(folder: str | Path) -> Path:
    """Check, before any work is done, that files can be created in ``folder``; :class:`OutputError`
    (one line) otherwise. Nothing is left behind: folders made for the check are removed again."""
    folder = Path(folder)
    made = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".sc2sim-write-check.", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as err:
        raise output_error(folder, err) from None
    finally:
        for p in made:  # deepest first
            try:
                p.rmdir()
            except OSError:
                break
    return folder


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
