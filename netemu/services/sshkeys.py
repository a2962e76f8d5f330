"""`python -m netemu.services.sshkeys STATE`: the one-shot task of `up` that makes a
scenario's SSH keys before any sshd starts.

Key generation is I/O with a random source, so it happens at `up` in this task, not in
render (which stays a pure function of the model). It makes the host key every sshd of the
scenario presents, the scenario's key pair (like an EC2 key pair: the public half is every
server's authorized key, the private half is what `netemu ssh` logs in with), the client
configuration `ssh -F` reads (absolute paths, which only exist once the state directory
does), and /run/sshd when the host lacks it (privsep.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from netemu.services import config as cfg
from netemu.services import privsep


def client_config(state: str) -> str:
    return "\n".join(
        [
            "# netemu: `ssh -F THIS_FILE ADDRESS` from inside a scenario namespace",
            "Host *",
            "  User root",
            f"  IdentityFile {os.path.join(state, cfg.KEY_PAIR)}",
            "  IdentitiesOnly yes",
            # Host keys are new at every `up`; remembering them would only raise alarms.
            "  StrictHostKeyChecking no",
            "  UserKnownHostsFile /dev/null",
            "  LogLevel ERROR",
            "  BatchMode yes",
            # A dropped SYN never gets an answer; say so after a while instead of hanging.
            "  ConnectTimeout 5",
            "",
        ]
    )


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m netemu.services.sshkeys STATE_DIR", file=sys.stderr)
        return 2
    state = argv[1]
    if not os.access(cfg.SSHD, os.X_OK) or shutil.which("ssh-keygen") is None:
        print(
            "sshd or ssh-keygen is missing: install openssh-server and openssh-client "
            "(sudo make setup)",
            file=sys.stderr,
        )
        return 1
    os.makedirs(os.path.join(state, cfg.SSH_DIR), 0o700, exist_ok=True)
    keygens = [
        subprocess.Popen(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path],
            stdin=subprocess.DEVNULL,
        )
        for comment, path in (
            ("netemu host key", os.path.join(state, cfg.HOST_KEY)),
            ("netemu key pair", os.path.join(state, cfg.KEY_PAIR)),
        )
    ]
    if any([p.wait() != 0 for p in keygens]):  # a list: wait for both
        return 1
    cfg.write_atomic(os.path.join(state, cfg.SSH_CONFIG), client_config(state))
    privsep.ensure()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
