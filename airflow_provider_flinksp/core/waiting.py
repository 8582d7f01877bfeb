"""The waiting rule every backend shares: a check gives a :class:`Verdict` (done, failed or not
yet); transient API errors mean "not yet"; the task, the trigger and the operators' own polling
loop all act on verdicts the same way, and log a line only when the news changed."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from airflow_provider_flinksp.exceptions import FlinkspError

Status = Literal["success", "failed", "waiting"]


class Verdict:
    """The outcome of one check (immutable; a plain class, so that defining it costs nothing at DAG
    parse time).

    :param status: ``success``, ``failed`` or ``waiting``
    :param message: why, in words a person can follow
    :param savepoint: on success, the savepoint's dict (None when there is none to report)
    :param transient_error: on ``waiting``, the transient API error that made the check inconclusive
        (not compared)
    :param value: on success, what the task returns when that is not a savepoint (e.g. a job's dict)
    """

    __slots__ = ("message", "savepoint", "status", "transient_error", "value")

    status: Status
    message: str
    savepoint: dict[str, Any] | None
    transient_error: FlinkspError | None
    value: dict[str, Any] | None

    def __init__(
        self,
        status: Status,
        message: str,
        savepoint: dict[str, Any] | None = None,
        transient_error: FlinkspError | None = None,
        value: dict[str, Any] | None = None,
    ) -> None:
        keep = object.__setattr__
        keep(self, "status", status)
        keep(self, "message", message)
        keep(self, "savepoint", savepoint)
        keep(self, "transient_error", transient_error)
        keep(self, "value", value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a Verdict is immutable: cannot set {name!r}")

    def _key(self) -> tuple[object, ...]:
        return (self.status, self.message, self.savepoint, self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Verdict) and self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # holds dicts, like the dataclass it replaced

    def __repr__(self) -> str:
        return (
            f"Verdict(status={self.status!r}, message={self.message!r}, savepoint={self.savepoint!r}, "
            f"transient_error={self.transient_error!r}, value={self.value!r})"
        )

    @property
    def result(self) -> dict[str, Any] | None:
        """What a task that waited for this returns: the value, else the savepoint's dict."""
        return self.value if self.value is not None else self.savepoint


def not_yet(exc: FlinkspError) -> Verdict:
    """The verdict for a check that a transient API error left open.

    :param exc: the error (429, 5xx, the network, after the hook's own retries)
    """
    return Verdict(
        "waiting", f"Not done yet: transient API error, will ask again: {exc}", transient_error=exc
    )


def settle(check: Callable[[], Verdict]) -> Verdict:
    """Run one check; a transient API error gives "not yet", any other error is raised.

    :param check: fetches and judges once
    """
    try:
        return check()
    except FlinkspError as exc:
        if exc.transient:
            return not_yet(exc)
        raise


async def asettle(check: Callable[[], Awaitable[Verdict]]) -> Verdict:
    """Async twin of :func:`settle`."""
    try:
        return await check()
    except FlinkspError as exc:
        return not_yet_or_raise(exc)


def not_yet_or_raise(exc: FlinkspError) -> Verdict:
    """For a check that raised: "not yet" when the error is transient, else the error again.

    :param exc: what the check raised
    """
    if exc.transient:
        return not_yet(exc)
    raise exc


class ProgressLog:
    """Logs what a wait learns: a warning for each transient error, otherwise a line only when the
    message changed (a debug line when it did not).

    :param log: the task's or the trigger's logger
    """

    def __init__(self, log: logging.Logger | logging.LoggerAdapter[Any]) -> None:
        self.log = log
        self.last: str | None = None

    def report(self, verdict: Verdict) -> None:
        """Log one verdict.

        :param verdict: what the last check found
        """
        if verdict.transient_error is not None:
            self.log.warning("%s", verdict.message)
        elif verdict.message != self.last:
            self.log.info("%s", verdict.message)
        else:
            self.log.debug("%s", verdict.message)
        self.last = verdict.message


def poll(
    check: Callable[[], Verdict],
    *,
    deadline: float,
    poll_interval: float,
    progress: ProgressLog,
    failed: Callable[[str], Exception],
    timed_out: Callable[[str], Exception],
) -> Verdict:
    """Check every ``poll_interval`` seconds in this process until success, failure or ``deadline``.

    :param check: fetches and judges once (transient errors already settled)
    :param deadline: epoch seconds
    :param poll_interval: seconds between two checks
    :param progress: where progress is logged
    :param failed: makes the error for a failed verdict
    :param timed_out: makes the error for the deadline
    :return: the successful verdict
    """
    while True:
        verdict = check()
        if verdict.status == "failed":
            raise failed(verdict.message)
        progress.report(verdict)
        if verdict.status == "success":
            return verdict
        remaining = deadline - time.time()
        if remaining <= 0:
            raise timed_out(f"Timed out waiting: {verdict.message}")
        time.sleep(min(poll_interval, remaining))
