"""The emulation's framing on the wire, shared by the mobile client and the edge server.

Each request is one frame on a TCP connection: a 9-byte header ``<BII`` (pipeline index, request
number, payload length, little-endian) followed by the payload, exactly the bytes the pipeline
produced. The edge answers each frame with one byte, the predicted class. The 9 header bytes are
the only bytes the emulation adds to what the simulator counts as the payload.
"""

from __future__ import annotations

import socket
import struct

HEADER = struct.Struct("<BII")
REPLY_BYTES = 1


def frame(pipe: int, request: int, payload: bytes) -> bytes:
    """Header + payload of one request."""
    return HEADER.pack(pipe, request, len(payload)) + payload


def tune_socket(sock: socket.socket, congestion: str | None) -> None:
    """``TCP_NODELAY`` (send at once) and the congestion control (``cubic``, ``bbr``, ...) when given."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if congestion:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, congestion.encode())


def precise_timers() -> None:
    """Ask the kernel for 1 us timer slack (default 50 us) so that sleeps and polls wake on time."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(29, 1, 0, 0, 0)  # PR_SET_TIMERSLACK
    except (OSError, AttributeError):
        pass


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    """Exactly ``n`` bytes from a blocking socket; EOFError if the peer closes first."""
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return bytes(buf)
