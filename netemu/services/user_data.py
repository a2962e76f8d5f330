"""An instance's user data: a shell script run inside the instance once, at its first
launch, as cloud-init runs a user-data script (once per instance, not at every boot), its
output kept in a log that `netemu logs INSTANCE` shows.

`task()` is what a launch adds to the plan (the scenario's `user_data:` now; RunInstances
`UserData`, base64-decoded with `decode()`, later): a one-shot task in the instance's
namespaces, after its servers are ready. `run_once()` is that task's body. The marker file
beside the log records that the script ran, so the task that `netemu start` runs again
finds it and does nothing. A script that fails or runs too long does not fail the launch
(the instance runs all the same, as on EC2); its exit status is written to the log.

`python -m netemu.services.user_data STATE INSTANCE` runs it.
"""

from __future__ import annotations

import base64
import binascii
import os
import signal
import subprocess
import sys
import time

from netemu.render.plan import File, Process
from netemu.services import config as cfg

PHASE = 3  # after the servers (phase 2) accept connections
# The task as a whole must finish within the driver's bound (30 s) for one-shot tasks.
TIMEOUT_S = 20.0


def script_path(instance: str) -> str:
    return f"{cfg.instance_dir(instance)}/user-data"


def log_path(instance: str) -> str:
    """Like /var/log/cloud-init-output.log on the instance."""
    return f"{cfg.instance_dir(instance)}/user-data.log"


def marker_path(instance: str) -> str:
    return f"{cfg.instance_dir(instance)}/user-data.done"


def decode(user_data_base64: str) -> str:
    """RunInstances' UserData (base64) -> the script; ValueError if it is not base64."""
    try:
        return base64.b64decode(user_data_base64, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as e:
        raise ValueError(f"user data is not base64-encoded text: {e}") from e


def task(
    ns: str, instance: str, script: str, python: str, env: tuple[tuple[str, str], ...] = ()
) -> tuple[File, Process]:
    """The script's file and the one-shot task that runs it inside `instance`."""
    run = (python, "-m", "netemu.services.user_data", "{state}", instance)
    return (
        File(script_path(instance), script, mode=0o700),
        Process(
            ns,
            f"user-data instance:{instance}",
            run,
            phase=PHASE,
            wait=True,
            endpoint=instance,
            env=env,
        ),
    )


def _argv(script: str) -> list[str]:
    """A script starting with #! runs with its interpreter; anything else with /bin/sh."""
    with open(script, "rb") as f:
        shebang = f.read(2) == b"#!"
    return [script] if shebang else ["/bin/sh", script]


def run_once(state: str, instance: str, timeout: float = TIMEOUT_S) -> str:
    """Run the instance's user data unless it already ran; say what happened."""
    marker = os.path.join(state, marker_path(instance))
    if os.path.exists(marker):
        return f"user data of {instance} already ran (once per instance)"
    directory = os.path.join(state, cfg.instance_dir(instance))
    script = os.path.join(state, script_path(instance))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with open(os.path.join(state, log_path(instance)), "ab") as log:
        log.write(f"== netemu: user data of instance {instance}, started {stamp}\n".encode())
        log.flush()
        env = {**os.environ, "HOME": "/root", "NETEMU_INSTANCE": instance}
        child = subprocess.Popen(
            _argv(script), cwd=directory, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True, env=env,
        )  # fmt: skip
        try:
            outcome = f"exited with status {child.wait(timeout)}"
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            outcome = f"stopped: still running after {timeout:.0f} s"
        log.write(f"== netemu: user data {outcome}\n".encode())
    with open(marker, "w") as f:
        f.write(f"{stamp} {outcome}\n")
    return f"user data of {instance} {outcome}; log: {log.name}"


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m netemu.services.user_data STATE INSTANCE", file=sys.stderr)
        return 2
    print(run_once(argv[1], argv[2]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
