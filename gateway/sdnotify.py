"""systemd's readiness protocol (Type=notify): one datagram to $NOTIFY_SOCKET per state.

`READY=1` only once HTTP listens and every channel has started, so `systemctl start`
returns when the gateway takes complaints, and units ordered after it can rely on that.
Without NOTIFY_SOCKET (not under systemd) every call is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


def notify(state: str) -> bool:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as e:
        log.warning("sd_notify failed", extra={"error": e.strerror or type(e).__name__})
        return False
    return True
