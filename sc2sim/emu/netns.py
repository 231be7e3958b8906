"""Network namespaces and the processes run in them, cleaned up on every exit path.

:class:`Testbed` is a context manager that owns everything an emulation creates: named network
namespaces (``ip netns add``), the helper processes it starts (each remembered by PID), and any
extra clean-up callbacks. Leaving the ``with`` block — normally, by an exception, by SIGINT
(KeyboardInterrupt) or by SIGTERM (turned into ``SystemExit(143)`` while the block runs) — ends
those processes by PID (SIGTERM, then SIGKILL after a grace period) and deletes the namespaces,
which removes every interface inside them. Nothing is ever killed by name.

Only root can create namespaces: :func:`require_root` says so in one line.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import uuid
from pathlib import Path
from typing import Callable, Sequence

from sc2sim.errors import ConfigError

NETNS_DIR = Path("/var/run/netns")


def require_root(what: str) -> None:
    """ConfigError unless this process is root (namespaces, TUN devices and qdiscs need it)."""
    if os.geteuid() != 0:
        raise ConfigError(f"{what} needs root (network namespaces and TUN devices); run it as root, "
                          "e.g. `sudo .venv/bin/sc2sim emulate ...`, or use `sc2sim run` to simulate instead")


def ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``ip ARGS`` (inside ``netns`` when given); RuntimeError with ip's message if it fails."""
    cmd = ["ip", *(["-n", netns] if netns else []), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` failed: {proc.stderr.strip() or proc.returncode}")
    return proc


def netns_names() -> list[str]:
    """Names of the named network namespaces that exist now."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still exists (and is not a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Testbed:
    """Namespaces, processes and clean-ups of one emulation, released on every exit path.

    >>> with Testbed("demo") as tb:                          # doctest: +SKIP
    ...     mobile, edge = tb.add_netns("m"), tb.add_netns("e")
    ...     tb.start(["ip", "netns", "exec", edge, "sleep", "60"])
    ... # namespaces gone, sleep ended (by PID)
    """

    def __init__(self, tag: str = "sc2sim", grace_s: float = 2.0) -> None:
        self.prefix = f"{tag}-{os.getpid()}-{uuid.uuid4().hex[:4]}"
        self.grace_s = grace_s
        self.namespaces: list[str] = []
        self.procs: list[subprocess.Popen] = []
        self.cleanups: list[Callable[[], None]] = []
        self.late_cleanups: list[Callable[[], None]] = []
        self._old_term: object = None
        self._closed = False

    # --- resources -----------------------------------------------------------------------------
    def add_netns(self, role: str) -> str:
        """Create namespace ``<prefix>-<role>`` with its loopback up; returns its name."""
        name = f"{self.prefix}-{role}"
        self.namespaces.append(name)  # remembered first: a half-made namespace is still deleted
        ip("netns", "add", name)
        ip("link", "set", "lo", "up", netns=name)
        subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                        "net.ipv6.conf.default.disable_ipv6=1"], capture_output=True)  # no IPv6 chatter on the link
        return name

    def start(self, cmd: Sequence[str], **popen: object) -> subprocess.Popen:
        """Start a helper process (remembered by PID and ended on exit)."""
        proc = subprocess.Popen(list(cmd), **popen)  # type: ignore[call-overload]
        self.procs.append(proc)
        return proc

    def on_close(self, fn: Callable[[], None], after_processes: bool = False) -> None:
        """Run ``fn`` at clean-up (last registered, first run), before the started processes are
        ended, or after them with ``after_processes``."""
        (self.late_cleanups if after_processes else self.cleanups).append(fn)

    # --- lifetime ------------------------------------------------------------------------------
    def __enter__(self) -> "Testbed":
        atexit.register(self.close)
        if hasattr(signal, "SIGTERM"):
            try:
                self._old_term = signal.signal(signal.SIGTERM, _raise_exit)
            except ValueError:  # not the main thread: rely on the caller's handling
                self._old_term = None
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release everything (idempotent): clean-ups, processes by PID, then the namespaces."""
        if self._closed:
            return
        self._closed = True
        try:
            _run_all(self.cleanups)
            for proc in reversed(self.procs):
                _end(proc, self.grace_s)
            _run_all(self.late_cleanups)
            for name in reversed(self.namespaces):
                ip("netns", "del", name, check=False)
        finally:
            if self._old_term is not None:
                signal.signal(signal.SIGTERM, self._old_term)  # type: ignore[arg-type]
            atexit.unregister(self.close)


def _run_all(fns: list[Callable[[], None]]) -> None:
    for fn in reversed(fns):
        try:
            fn()
        except Exception:  # noqa: BLE001 - clean-up goes on whatever one step does
            pass


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _end(proc: subprocess.Popen, grace_s: float) -> None:
    """End one started process by PID: SIGTERM, wait, SIGKILL."""
    if proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(grace_s)
    except ProcessLookupError:
        pass
