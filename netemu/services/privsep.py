"""/run/sshd, where sshd confines its unprivileged pre-authentication child.

OpenSSH refuses to start without it ("Missing privilege separation directory") and no
option moves it: the path is compiled in. On a host whose own sshd is not running it is
usually absent (systemd creates it only for ssh.service). netemu makes it when missing and
leaves a marker inside, and removes it again when the last scenario goes down, only if the
marker says netemu made it and no sshd is left on the host.
"""

from __future__ import annotations

import contextlib
import os
import time

PRIVSEP_DIR = "/run/sshd"
MARKER = os.path.join(PRIVSEP_DIR, "created-by-netemu")


def ensure() -> None:
    try:
        os.mkdir(PRIVSEP_DIR, 0o755)
    except FileExistsError:
        return
    os.chmod(PRIVSEP_DIR, 0o755)  # sshd insists: owned by root, not group/world writable
    with open(MARKER, "w") as f:
        f.write("netemu made this directory for sshd; `netemu down` removes it\n")


def release(wait: float = 1.0) -> None:
    """Remove PRIVSEP_DIR if netemu made it and, within `wait` seconds, no sshd runs."""
    if not os.path.exists(MARKER):
        return
    deadline = time.monotonic() + wait
    while _sshd_running():
        if time.monotonic() > deadline:
            return
        time.sleep(0.02)
    with contextlib.suppress(OSError):
        os.unlink(MARKER)
        os.rmdir(PRIVSEP_DIR)


def _sshd_running() -> bool:
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name, _, rest = stat.partition("(")[2].rpartition(")")
        if name == "sshd" and rest.split()[0] not in ("Z", "X"):
            return True
    return False
