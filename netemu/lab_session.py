"""A lab in progress: its working directory, `.netemu-lab.json`, and start/check/stop.

The operations behind `netemu lab`, on the kernel (through lifecycle) and on that state;
nothing here prints.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from netemu import lifecycle
from netemu.driver import state as st
from netemu.errors import Problem, ScenarioInvalid, UsageError
from netemu.lab_catalog import SCENARIO, Hint, Lab, find, graded_model
from netemu.model.types import Model, Pos
from netemu.probe import expect
from netemu.probe.expect import Outcome
from netemu.scenario import load

STATE_FILE = ".netemu-lab.json"
DEFAULT_DIR_PREFIX = "netemu-lab-"


@dataclass
class Session:
    """What `.netemu-lab.json` remembers between commands."""

    lab: str  # the lab's directory name, e.g. "03-nat-in-private"
    lab_path: str  # where the lab's files were found at `start`
    scenario: str  # the lab scenario's name; the copy must keep it
    file: str = SCENARIO  # the user's copy, relative to the working directory
    hints_shown: int = 0
    solution_shown: bool = False
    checks_run: int = 0
    solved: bool = False  # the last check passed every expectation
    directory: str = field(default="", compare=False)  # not saved: where the file was found

    @property
    def path(self) -> Path:
        return Path(self.directory) / self.file

    def find_lab(self) -> Lab:
        here = Path(self.lab_path)
        if (here / SCENARIO).is_file():
            return Lab(self.lab, here)
        return find(self.lab)

    def save(self) -> None:
        data = asdict(self)
        del data["directory"]
        target = Path(self.directory) / STATE_FILE
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, target)
        _hand_over(target)


@dataclass
class CheckRun:
    session: Session
    model: Model  # the user's scenario as it was brought up, with the lab's checks
    outcomes: list[Outcome]
    warnings: list[Problem]

    @property
    def failed(self) -> int:
        return sum(not o.ok for o in self.outcomes)


def default_dir(lab: Lab) -> Path:
    return Path.cwd() / f"{DEFAULT_DIR_PREFIX}{lab.name}"


def locate(given: str | None) -> Session:
    """The session in `given`, else in the current directory, else in the only
    `netemu-lab-*` directory below it."""
    if given:
        candidates = [Path(given)]
    elif (Path.cwd() / STATE_FILE).is_file():
        candidates = [Path.cwd()]
    else:
        candidates = sorted(
            p.parent for p in Path.cwd().glob(f"{DEFAULT_DIR_PREFIX}*/{STATE_FILE}")
        )
    if not candidates:
        raise UsageError("no lab here: start one with `netemu lab start NAME`, or give --dir DIR")
    if len(candidates) > 1:
        names = ", ".join(str(c) for c in candidates)
        raise UsageError(f"several labs here ({names}); choose one with --dir DIR")
    return _read(candidates[0])


def _read(directory: Path) -> Session:
    path = directory / STATE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Session(**data, directory=str(directory))
    except FileNotFoundError:
        raise UsageError(
            f"{directory} holds no lab; start one with `netemu lab start NAME --dir {directory}`"
        ) from None
    except (json.JSONDecodeError, TypeError) as e:
        raise UsageError(f"{path} is damaged ({e}); start the lab again with --force") from None


def start(
    lab: Lab, directory: Path, force: bool, driver: lifecycle.Driver
) -> tuple[Session, Model]:
    """Copy the lab's broken scenario into `directory` and bring it up."""
    driver.check_host()
    copy = directory / SCENARIO
    if not force and ((directory / STATE_FILE).exists() or copy.exists()):
        raise UsageError(
            f"{directory} already holds a lab (your edits are in {copy}); continue with "
            "`netemu lab check`, or start over with --force (this overwrites your edits)"
        )
    name = lab.scenario_name()
    lab.guide()  # a broken guide is the lab author's error: say so before touching anything
    _make_room(name, copy, driver)
    directory.mkdir(parents=True, exist_ok=True)
    _hand_over(directory)
    shutil.copyfile(lab.scenario_path, copy)
    _hand_over(copy)
    session = Session(lab.name, str(lab.path.resolve()), name, directory=str(directory))
    session.save()
    model, _ = lifecycle.up(str(copy), driver)
    return session, model


def grade(
    lab: Lab, path: str, driver: lifecycle.Driver, keep_up: bool = False
) -> tuple[Model, list[Outcome], list[Problem]]:
    """Validate the scenario at `path`, change whatever copy of the lab is up into it (in
    place, with `netemu apply`; else bring it up), and run the lab's checks (not the
    file's own `expect`, which the user may have changed).

    Returns the model as brought up, the outcomes in the order of checks.yaml, and the
    scenario's warnings. The scenario goes down afterwards unless `keep_up`."""
    graded, warnings = graded_model(lab, path)
    want = lab.scenario_name()
    if graded.name != want:
        raise ScenarioInvalid([_rename_problem(path, graded.name, want)])
    driver.check_host()
    if _replaceable(want, Path(path)):
        # In place, as a fix is made on AWS: flows the change does not concern stay up
        # (an open `netemu ssh` survives fixing an unrelated rule; ops.apply).
        from netemu.ops import apply

        apply.apply_file(path, False, driver)
        model = lifecycle.running_model(want)
    else:
        _make_room(want, Path(path), driver)
        model, _ = lifecycle.up(path, driver)
    try:
        outcomes = expect.run(replace(model, expectations=graded.expectations))
    finally:
        if not keep_up:
            lifecycle.down(model.name, driver)
    return model, outcomes, warnings


def check(session: Session, driver: lifecycle.Driver, keep_up: bool = True) -> CheckRun:
    """`lab check`: grade the session's copy and remember the result."""
    model, outcomes, warnings = grade(session.find_lab(), str(session.path), driver, keep_up)
    session.checks_run += 1
    session.solved = all(o.ok for o in outcomes)
    session.save()
    return CheckRun(session, model, outcomes, warnings)


def hint(session: Session, number: int | None, lang: str = "en") -> tuple[Hint, int]:
    """The next hint (or hint `number`) in `lang`, and how many there are."""
    hints = session.find_lab().guide(lang).hints
    n = min(session.hints_shown + 1, len(hints)) if number is None else number
    if not 1 <= n <= len(hints):
        raise UsageError(f"lab {session.lab} has hints 1 to {len(hints)}")
    session.hints_shown = max(session.hints_shown, n)
    session.save()
    return hints[n - 1], len(hints)


def mark_solution_shown(session: Session) -> None:
    session.solution_shown = True
    session.save()


def stop(session: Session, driver: lifecycle.Driver) -> bool:
    """Bring the lab down if it is up from this copy; the copy itself stays. True if it was."""
    name = session.scenario
    if name not in st.running():
        return False
    state = st.load(name)
    if state is not None and Path(state.source).resolve() != session.path.resolve():
        raise UsageError(
            f"scenario '{name}' is up from {state.source}, not from this lab's copy; "
            f"leaving it alone (`netemu down {name}` removes it)"
        )
    driver.check_host()
    lifecycle.down(name, driver)
    return True


def _replaceable(name: str, copy: Path) -> bool:
    """Scenario `name` is completely up from this copy or from another lab working copy
    (a lab is cheap to replace): `lab check` may change it into this copy."""
    if name not in st.running():
        return False
    state = st.load(name)
    if state is None or not state.complete:
        return False
    source = Path(state.source)
    return source.resolve() == copy.resolve() or (source.parent / STATE_FILE).is_file()


def _make_room(name: str, copy: Path, driver: lifecycle.Driver) -> None:
    """Bring down scenario `name` when it is up from this copy, or completely up from
    another lab working copy; refuse otherwise. A copy that is not completely up may be
    in the middle of someone's `up`: taking it down then would leave that `up` starting
    processes nobody records."""
    if name not in st.running():
        return
    state = st.load(name)
    source = Path(state.source) if state else None
    ours = source is not None and source.resolve() == copy.resolve()
    if not (ours or _replaceable(name, copy)):
        where = f"from {source}" if source else "half-way (an `up` is running or crashed)"
        raise UsageError(
            f"scenario '{name}' is already up {where}, which is not a lab copy that can be "
            f"replaced; run `netemu down {name}` first"
        )
    lifecycle.down(name, driver)


def _rename_problem(path: str, got: str, want: str) -> Problem:
    raw = load(path)
    node = raw.value.get("name") if isinstance(raw.value, dict) else None
    pos = node.pos if node is not None else Pos(path, 1, 1)
    return Problem(
        pos,
        f"the lab's scenario is named '{want}', this copy '{got}'; keep `name: {want}` "
        "(netemu finds the lab's running objects by that name)",
        file=path,
    )


def _hand_over(path: Path) -> None:
    """Under sudo, give what we create to the user who ran sudo, so they can edit it."""
    uid, gid = os.environ.get("SUDO_UID"), os.environ.get("SUDO_GID")
    if os.geteuid() == 0 and uid and gid and uid.isdigit() and gid.isdigit():
        with contextlib.suppress(OSError):
            os.chown(path, int(uid), int(gid))
