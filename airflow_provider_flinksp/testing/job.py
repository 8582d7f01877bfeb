"""One fake session job and its savepoints: the life cycle, played lazily up to a clock.

Each call first brings the job up to "now" (savepoints finishing, periodic ones firing, queued ones
starting, a created job starting to run), so an injected clock makes tests deterministic. The job
shares its owner's lock, clock and defaults (see :class:`~airflow_provider_flinksp.testing.state.FakeState`).
"""

from __future__ import annotations

import math
import secrets
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

#: Job states the fake knows about; only ``RUNNING`` accepts savepoints.
JOB_STATES = frozenset({"PENDING", "RUNNING", "DELETING", "FAILED"})
PENDING_MESSAGE = "a savepoint is already pending"
FLINK_PREFIX = "/api/flink/v1"


class Owner(Protocol):
    """What a job takes from the state that holds it."""

    lock: threading.RLock
    clock: Callable[[], float]
    savepoint_duration: float
    appear_delay: float
    savepoint_base: str
    pending_policy: str


def format_timestamp(epoch_seconds: float) -> str:
    """Format epoch seconds the API's way: ``YYYY-MM-DDTHH:mm:ss.sssZ`` in UTC.

    :param epoch_seconds: seconds since the Unix epoch
    """
    millis = math.floor(epoch_seconds * 1000 + 1e-4)  # absorb float error: .123 may be .12299999
    seconds, ms = divmod(millis, 1000)
    return f"{datetime.fromtimestamp(seconds, timezone.utc):%Y-%m-%dT%H:%M:%S}.{ms:03d}Z"


class FakeLakeSailError(Exception):
    """An API error: raised by the state, answered over HTTP as ``{"message": ...}``.

    :param status: the HTTP status
    :param message: the ``message`` of the error body
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


@dataclass
class _Savepoint:
    trigger_type: str
    nonce: str | None
    triggered_at: float
    visible_at: float = math.inf
    done_at: float = math.inf

    def to_json(self, location: str | None = None) -> dict[str, Any]:
        return {
            "location": location,
            "triggerType": self.trigger_type,
            "triggerNonce": self.nonce,
            "triggeredAt": format_timestamp(self.triggered_at),
        }


def _drop_none(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _check_state(value: str) -> str:
    if value not in JOB_STATES:
        raise ValueError(f"unknown job state {value!r}; use one of {sorted(JOB_STATES)}")
    return value


def _check_interval(value: float | None) -> float | None:
    if value is not None and not value > 0:
        raise ValueError("periodic_interval must be positive or None")
    return value


class FakeJob:
    """One session job and its savepoints; get it from ``add_job`` or ``get_job``, not by constructing it.

    Reading ``state`` or changing ``state``, ``periodic_interval`` or :meth:`fail_next` first brings the
    life cycle up to the clock, so changes never apply retroactively. ``savepoint_duration``,
    ``appear_delay`` and ``history_max_count`` are plain attributes (None: the server's default).
    """

    def __init__(
        self,
        owner: Owner,
        workspace: str,
        session: str,
        job_id: str,
        *,
        state: str = "RUNNING",
        periodic_interval: float | None = None,
        history_max_count: int | None = None,
        savepoint_duration: float | None = None,
        appear_delay: float | None = None,
        completed: Iterable[Mapping[str, Any]] | None = None,
        name: str | None = None,
        flink_configuration: Mapping[str, str] | None = None,
        args: Sequence[str] | None = None,
        jar_uri: str | None = None,
        entry_class: str | None = None,
        start_at: float | None = None,
    ) -> None:
        """Create the job; use ``FakeLakeSail.add_job`` (or ``POST .../jobs``) rather than this.

        :param owner: the state that holds it (its lock, clock and defaults)
        :param workspace: workspace ID
        :param session: session ID
        :param job_id: job ID
        :param state: initial state
        :param periodic_interval: seconds between periodic savepoints (from now), or None
        :param history_max_count: keep only the newest N completed savepoints, or None for all
        :param savepoint_duration: seconds pending (None: the owner's)
        :param appear_delay: seconds before a triggered savepoint is listed (None: the owner's)
        :param completed: savepoint dicts in API shape to preload as completed, oldest first
        :param name: job name (default derived from the ID)
        :param flink_configuration: the job's ``flinkConfiguration``
        :param args: the job's program arguments
        :param jar_uri: the job's ``jarUri``
        :param entry_class: the job's ``entryClass``
        :param start_at: when a ``PENDING`` job starts running by itself, or None for never
        """
        if history_max_count is not None and history_max_count < 0:
            raise ValueError("history_max_count must not be negative")
        self._owner = owner
        self.workspace, self.session, self.id = workspace, session, job_id
        self.name = name if name is not None else f"{job_id.lower()}-job"
        self.flink_configuration = dict(flink_configuration or {})
        self.args = list(args or [])
        self.jar_uri, self.entry_class = jar_uri, entry_class
        self.history_max_count = history_max_count
        self.savepoint_duration = savepoint_duration
        self.appear_delay = appear_delay
        self.created_at = self.updated_at = now = owner.clock()
        self.flink_job_id = uuid.uuid5(uuid.NAMESPACE_URL, f"lakesail:{workspace}/{session}/{job_id}").hex
        self._state = _check_state(state)
        self._start_at = start_at
        self._periodic_interval = _check_interval(periodic_interval)
        self._next_tick = None if self._periodic_interval is None else now + self._periodic_interval
        self._pending: _Savepoint | None = None
        self._queued: deque[_Savepoint] = deque()
        self._completed: list[dict[str, Any]] = [dict(item) for item in completed or ()]
        self._fail_remaining = 0
        self._trim()

    @property
    def path(self) -> str:
        """The job's API path, e.g. ``/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs/JOB1``."""
        return f"{FLINK_PREFIX}/workspaces/{self.workspace}/sessions/{self.session}/jobs/{self.id}"

    @property
    def savepoints_path(self) -> str:
        """The job's savepoints API path."""
        return f"{self.path}/savepoints"

    @property
    def state(self) -> str:
        """The job state: ``PENDING``, ``RUNNING``, ``DELETING`` or ``FAILED``; settable."""
        with self._owner.lock:
            self._advance()
            return self._state

    @state.setter
    def state(self, value: str) -> None:
        _check_state(value)
        with self._owner.lock:
            now = self._advance()
            self._start_at = None  # an explicit state overrides a pending start
            if value != self._state:
                self._state, self.updated_at = value, now

    @property
    def periodic_interval(self) -> float | None:
        """Seconds between periodic savepoints, or None; setting it restarts the period from now."""
        return self._periodic_interval

    @periodic_interval.setter
    def periodic_interval(self, value: float | None) -> None:
        _check_interval(value)
        with self._owner.lock:
            now = self._advance()
            self._periodic_interval = value
            self._next_tick = None if value is None else now + value

    def fail_next(self, n: int = 1) -> None:
        """Make the next ``n`` savepoints of this job that finish vanish instead of completing.

        :param n: how many (added to any still outstanding)
        """
        if n < 0:
            raise ValueError("n must not be negative")
        with self._owner.lock:
            self._advance()
            self._fail_remaining += n

    def savepoints(self) -> dict[str, list[dict[str, Any]]]:
        """The current savepoint listing, as ``GET .../savepoints`` returns it."""
        with self._owner.lock:
            now = self._advance()
            pending = self._pending
            visible = [_drop_none(pending.to_json())] if pending and pending.visible_at <= now else []
            return {"pending": visible, "completed": [_drop_none(item) for item in self._completed]}

    def trigger(self) -> dict[str, Any]:
        """Trigger a manual savepoint, as ``POST .../savepoints`` does: the 202 body (``location`` None).

        :raises FakeLakeSailError: 409 when the job is not RUNNING; while a savepoint is pending, what the
            server's ``pending_policy`` says (409 or 400, or none: the new one is queued)
        """
        with self._owner.lock:
            now = self._advance()
            if self._state != "RUNNING":
                raise FakeLakeSailError(409, f"job {self.id} is {self._state}, not RUNNING; cannot trigger")
            savepoint = _Savepoint("MANUAL", str(uuid.uuid4()), now)
            if self._pending is None:
                self._begin(savepoint, now)
            elif self._owner.pending_policy == "queue":
                self._queued.append(savepoint)
            else:
                raise FakeLakeSailError(int(self._owner.pending_policy), PENDING_MESSAGE)
            return savepoint.to_json()

    def to_json(self) -> dict[str, Any]:
        """The job as the API's ``FlinkSessionJob``."""
        job = {
            "id": self.flink_job_id,
            "name": self.name,
            "jarUri": self.jar_uri,
            "entryClass": self.entry_class,
        }
        return {
            **self.summary(),
            "flinkConfiguration": dict(self.flink_configuration),
            "job": {**_drop_none(job), "args": list(self.args)},
        }

    def summary(self) -> dict[str, Any]:
        """The job as the API's ``FlinkSessionJobSummary``."""
        state = self.state
        return {
            "id": self.id,
            "name": self.name,
            "state": state,
            "createdAt": format_timestamp(self.created_at),
            "updatedAt": format_timestamp(self.updated_at),
        }

    def spec(self) -> dict[str, Any]:
        """What the job was created with, as a ``FlinkSessionJobSpec``."""
        job = _drop_none({"jarUri": self.jar_uri, "entryClass": self.entry_class})
        return {
            "name": self.name,
            "flinkConfiguration": dict(self.flink_configuration),
            "job": {**job, "args": list(self.args)},
        }

    def __repr__(self) -> str:
        return f"FakeJob({self.workspace}/{self.session}/{self.id}, state={self._state})"

    def _advance(self) -> float:
        """Play the job's events up to the clock (caller holds the lock); returns the time used."""
        now = self._owner.clock()
        if self._start_at is not None and self._start_at <= now:
            self._state, self.updated_at, self._start_at = "RUNNING", self._start_at, None
        while True:
            pending, tick, interval = self._pending, self._next_tick, self._periodic_interval
            if pending is not None and pending.done_at <= now and (tick is None or pending.done_at <= tick):
                self._finish(pending)
                continue
            if tick is None or interval is None or tick > now:
                return now
            if pending is None and self._state == "RUNNING":
                self._begin(_Savepoint("PERIODIC", None, tick), tick)
                self._next_tick = tick + interval
            elif pending is not None and pending.done_at <= now:  # busy until then: skip the ticks before
                self._next_tick = tick + interval * math.ceil((pending.done_at - tick) / interval)
            else:  # busy or not running through to now: skip every tick up to now
                self._next_tick = tick + interval * (math.floor((now - tick) / interval) + 1)

    def _begin(self, savepoint: _Savepoint, at: float) -> None:
        delay = self.appear_delay if self.appear_delay is not None else self._owner.appear_delay
        duration = (
            self.savepoint_duration if self.savepoint_duration is not None else self._owner.savepoint_duration
        )
        savepoint.visible_at = at + delay
        savepoint.done_at = at + delay + duration
        self._pending = savepoint

    def _finish(self, savepoint: _Savepoint) -> None:
        self._pending = None
        if self._fail_remaining > 0:
            self._fail_remaining -= 1
        else:
            location = f"{self._owner.savepoint_base}/savepoint-{secrets.token_hex(6)}"
            self._completed.append(savepoint.to_json(location))
            self._trim()
        if self._queued and self._state == "RUNNING":
            self._begin(self._queued.popleft(), savepoint.done_at)
        else:
            self._queued.clear()  # a job that stopped running drops them: they vanish like failures

    def _trim(self) -> None:
        limit = self.history_max_count
        if limit is not None and len(self._completed) > limit:
            del self._completed[: len(self._completed) - limit]
