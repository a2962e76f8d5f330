"""The service daemon's configuration and the paths of every service file, relative to the
scenario's state directory: written by render.services, read by the daemon and `netemu ssh`."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Any, Literal

CONFIG = "services/services.json"
READY = "services/ready"  # exists once every socket of the daemon listens
# Rewritten (atomically: write a temporary file, then rename) when an instance's addresses
# change, e.g. at stop/start; the daemon notices at its next metadata request.
METADATA = "services/metadata.json"

SSH_DIR = "ssh"
SSHD_CONFIG = "ssh/sshd_config"
SSH_CONFIG = "ssh/ssh_config"  # client options for `ssh -F`, also for the -J hop
HOST_KEY = "ssh/ssh_host_ed25519_key"
KEY_PAIR = "ssh/id_ed25519"  # the scenario's EC2-like key pair; the public half is .pub


def key_pair_file(name: str) -> str:
    """Where a scenario key pair's public key is written: named in hex, as key pair names
    may hold any ASCII character, `/` included."""
    return f"ssh/key-pairs/{name.encode().hex()}.pub"


SSHD = "/usr/sbin/sshd"  # sshd re-executes itself and needs its absolute path

METADATA_IP = "169.254.169.254"
METADATA_PORT = 80

ListenerKind = Literal["http", "tcp", "udp", "metadata"]
HttpTokens = Literal["required", "optional"]


def instance_dir(instance: str) -> str:
    """What an instance keeps like its own disk (an EBS root volume): servers' data and
    configuration, its user data, their logs. It lasts across stop/start until `down`."""
    return f"instances/{instance}"


def sshd_pid_file(owner_kind: str, owner: str) -> str:
    """sshd writes it once its socket listens, so it doubles as the ready file."""
    return f"ssh/{owner_kind}-{owner}.pid"


@dataclass(frozen=True)
class Listener:
    """One listening socket: `owner` names the instance or host it belongs to (the subnet for
    metadata) and is reported in answers."""

    ns: str
    owner: str
    kind: ListenerKind
    port: int
    address: str = "0.0.0.0"


@dataclass(frozen=True)
class Config:
    scenario: str
    listeners: tuple[Listener, ...]
    # IMDSv2 only, like new instances of recent AMIs (MetadataOptions.HttpTokens=required).
    http_tokens: HttpTokens = "required"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1) + "\n"

    @staticmethod
    def from_json(text: str) -> Config:
        data: dict[str, Any] = json.loads(text)
        listeners = tuple(Listener(**item) for item in data.pop("listeners"))
        return Config(listeners=listeners, **data)


def state_of(config_path: str) -> str:
    """The state directory, from the path of the daemon's configuration file."""
    return os.path.dirname(os.path.dirname(os.path.abspath(config_path)))


def write_atomic(path: str, content: str, mode: int = 0o644) -> None:
    """Replace `path` in one step, so a reader never sees half a file."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(content)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
