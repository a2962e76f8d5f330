"""The servers that run inside a scenario: netemu's own service daemon and real sshd.

One daemon per scenario, not one process per instance: a scenario of 1000 instances would
otherwise start 1000 Python interpreters (tens of megabytes and about 100 ms of start-up
each). The daemon runs in the scenario's internet namespace and opens every listening socket
inside its target namespace with setns (a socket stays in the namespace it was created in),
then serves them all from one asyncio loop: each instance's or internet host's `http`,
`"tcp:PORT"` and `"udp:PORT"` services, and the instance metadata service at
169.254.169.254 in every subnet namespace that holds instances (ref 10.6).

`ssh` is the real OpenSSH server, one `sshd` per instance or host that lists it, since a
user logs in and runs real commands there; its keys are made at `up` by `sshkeys`.

Nothing here imports at package level: `python -m netemu.services.sshkeys` must start fast.
"""
