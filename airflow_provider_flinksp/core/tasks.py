"""The task bases every sensor and operator of this provider shares, whatever the backend.

- :class:`ApiTask`: the per-task API settings, the hook made lazily (never at DAG parse time), the
  backend's check of what it waits for, the deferral to the backend's trigger with an absolute
  deadline, and the check of the trigger's event when the task resumes.
- :class:`WaitingOperator`: an operator that may wait (``poll_interval``, ``timeout``,
  ``deferrable``): polling in the worker, or deferred to the trigger.
- :class:`SensorTask`: the sensors' poke / reschedule / deferrable flow.

A backend says what differs in class attributes (its connection ID's parameter, its hook's and
trigger's class paths, its errors) and in :meth:`ApiTask._check` and :meth:`ApiTask._trigger_kwargs`.
These bases are Airflow operator classes, so ``default_args`` fill their parameters too.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from airflow_provider_flinksp._compat import BaseOperator, PokeReturnValue, default_deferrable
from airflow_provider_flinksp.core.checks import as_seconds
from airflow_provider_flinksp.core.lazy import build_hook, load

if TYPE_CHECKING:
    from airflow.sdk.definitions.context import Context

    from airflow_provider_flinksp.core.waiting import ProgressLog, Verdict
    from airflow_provider_flinksp.exceptions import FlinkspError

#: Extra time the task's own deferral timeout leaves the trigger to report a timeout itself.
DEFERRAL_TIMEOUT_SLACK = 60.0
#: How long a deferred sensor without a ``timeout`` may wait.
SENSOR_DEFAULT_TIMEOUT = 7 * 24 * 3600.0


class HookTask:
    """Mixin for a task that talks to an API through a hook made at its first use."""

    log: Any

    def make_hook(self) -> Any:
        """Build the backend's hook from the task's settings."""
        raise NotImplementedError

    @cached_property
    def hook(self) -> Any:
        """The hook, made at the first use (never at DAG parse time)."""
        return self.make_hook()

    @cached_property
    def progress(self) -> ProgressLog:
        """Logs what the task's waiting learns, a line per change."""
        from airflow_provider_flinksp.core.waiting import ProgressLog

        return ProgressLog(self.log)

    def defer_to(
        self,
        trigger: Any,
        *,
        deadline: float,
        method_name: str = "execute_complete",
        kwargs: dict[str, Any] | None = None,
    ) -> NoReturn:
        """Hand the wait to ``trigger``; the task's own timeout leaves it time to report a timeout.

        :param trigger: the trigger
        :param deadline: absolute wall-clock deadline, epoch seconds (the trigger's own)
        :param method_name: the method the task resumes in
        :param kwargs: extra keyword arguments for that method
        """
        timeout = timedelta(seconds=max(0.0, deadline - time.time()) + DEFERRAL_TIMEOUT_SLACK)
        self.defer(  # type: ignore[attr-defined]
            trigger=trigger, method_name=method_name, kwargs=kwargs, timeout=timeout
        )
        raise AssertionError("defer() returned")  # pragma: no cover - defer always raises


class ApiTask(HookTask, BaseOperator):
    """What every task of this provider takes besides its backend's IDs: the API settings.

    :param api_retry_limit: attempts per API call (default: the connection's extra, else 3)
    :param api_retry_delay: first backoff in seconds (default: the connection's extra, else 1.0)
    :param request_timeout: seconds per API request (default: the connection's extra, else 30)
    """

    #: The attribute (and parameter) naming the Airflow connection, e.g. ``"lakesail_conn_id"``.
    conn_id_attr: ClassVar[str]
    #: The backend's hook and trigger, as import paths (imported at the first use).
    hook_path: ClassVar[str]
    trigger_path: ClassVar[str]
    #: The backend's error, and the error of a failed wait (no retry).
    error: ClassVar[type[FlinkspError]]
    failed_error: ClassVar[type[FlinkspError]]

    def __init__(
        self,
        *,
        api_retry_limit: int | None = None,
        api_retry_delay: float | None = None,
        request_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.api_retry_limit = api_retry_limit
        self.api_retry_delay = api_retry_delay
        self.request_timeout = request_timeout

    @property
    def conn_id(self) -> str:
        """The Airflow connection's ID."""
        return str(getattr(self, self.conn_id_attr))

    def make_hook(self) -> Any:
        """The backend's hook with the task's connection and retry settings."""
        settings = (self.api_retry_limit, self.api_retry_delay, self.request_timeout)
        return build_hook(self.hook_path, self.conn_id, *settings)

    def _publish(self, context: Any, value: Any) -> None:
        """Pass a result on besides XCom, e.g. to assets (default: nothing).

        :param context: the task's context
        :param value: the result
        """

    def _check(self, target: Any) -> Verdict:
        """Fetch and judge ``target`` once (sync); transient errors give "waiting".

        :param target: what is awaited
        """
        raise NotImplementedError

    def _trigger_kwargs(self, target: Any) -> dict[str, Any]:
        """The trigger's keyword arguments that say what it waits for (default: the target's fields).

        :param target: what is awaited (a dataclass)
        """
        return dataclasses.asdict(target)

    def _defer(
        self,
        target: Any,
        *,
        deadline: float,
        poll_interval: float,
        method_name: str = "execute_complete",
        kwargs: dict[str, Any] | None = None,
    ) -> NoReturn:
        """Hand the wait for ``target`` to the backend's trigger.

        :param target: what to wait for
        :param deadline: absolute wall-clock deadline, epoch seconds
        :param poll_interval: seconds between two checks
        :param method_name: the method the task resumes in
        :param kwargs: extra keyword arguments for that method
        """
        trigger = load(self.trigger_path)(
            **self._trigger_kwargs(target),
            deadline=deadline,
            poll_interval=poll_interval,
            retry_limit=self.api_retry_limit,
            retry_delay=self.api_retry_delay,
            request_timeout=self.request_timeout,
            **{self.conn_id_attr: self.conn_id},
        )
        self.defer_to(trigger, deadline=deadline, method_name=method_name, kwargs=kwargs)

    def _decide(self, verdict: Verdict) -> bool:
        """Whether ``verdict`` means done; a failure raises :attr:`failed_error` (no retry).

        :param verdict: one check's verdict
        """
        if verdict.status == "failed":
            raise self.failed_error(verdict.message)
        self.progress.report(verdict)
        return verdict.status == "success"

    def _check_or_defer(self, target: Any, *, deadline: float, poll_interval: float) -> Verdict:
        """Check once; done gives the verdict, failed raises, not yet defers to the trigger.

        :param target: what is awaited
        :param deadline: absolute wall-clock deadline, epoch seconds
        :param poll_interval: the trigger's seconds between two checks
        """
        verdict = self._check(target)
        if not self._decide(verdict):
            self._defer(target, deadline=deadline, poll_interval=poll_interval)
        return verdict

    def _read_event(self, event: object, *, sensor: bool, nonce: str | None = None) -> Verdict:
        """Check the trigger's event on resume; the successful verdict, or raise.

        :param event: what the trigger sent
        :param sensor: a timeout is a sensor timeout (else the backend's error)
        :param nonce: the awaited savepoint's nonce: a success must carry it, with a location
        """
        from airflow_provider_flinksp.core.events import read_event

        return read_event(
            event,
            self.log,
            timeout_is_sensor_timeout=sensor,
            error=self.error,
            failed_error=self.failed_error,
            nonce=nonce,
        )


class WaitingOperator(ApiTask):
    """An operator that may wait for a verdict, polling in the worker or deferred to the trigger.

    :param poll_interval: seconds between two checks while waiting (default:
        :attr:`default_poll_interval`)
    :param timeout: how long the task may wait (timedelta or seconds; default:
        :attr:`default_timeout`)
    :param deferrable: wait in the triggerer (default: Airflow's ``[operators] default_deferrable``)
    """

    default_poll_interval: ClassVar[float] = 10.0
    default_timeout: ClassVar[float] = 3600.0

    def __init__(
        self,
        *,
        poll_interval: timedelta | float | None = None,
        timeout: timedelta | float | None = None,
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        interval = self.default_poll_interval if poll_interval is None else poll_interval
        self.poll_interval = as_seconds(interval, "poll_interval")
        if not self.poll_interval > 0:
            raise ValueError(f"poll_interval must be more than 0 seconds, got {poll_interval!r}")
        self.timeout = as_seconds(self.default_timeout if timeout is None else timeout, "timeout")
        self.deferrable = default_deferrable() if deferrable is None else deferrable

    def _wait(
        self,
        target: Any,
        *,
        deadline: float | None = None,
        method_name: str = "execute_complete",
        kwargs: dict[str, Any] | None = None,
        timed_out: Any = None,
    ) -> Verdict:
        """Wait for ``target``: defer (never returns) or poll here; the successful verdict.

        :param target: what is awaited
        :param deadline: absolute wall-clock deadline, epoch seconds (default: ``timeout`` from now)
        :param method_name: the method the task resumes in when deferred
        :param kwargs: extra keyword arguments for that method
        :param timed_out: makes the error for the deadline (default: the backend's error)
        """
        from airflow_provider_flinksp.core.waiting import poll

        if deadline is None:
            deadline = time.time() + self.timeout
        if self.deferrable:
            self._defer(
                target,
                deadline=deadline,
                poll_interval=self.poll_interval,
                method_name=method_name,
                kwargs=kwargs,
            )
        return poll(
            functools.partial(self._check, target),
            deadline=deadline,
            poll_interval=self.poll_interval,
            progress=self.progress,
            failed=self.failed_error,
            timed_out=self.error if timed_out is None else timed_out,
        )


class SensorTask(ApiTask):
    """The sensors' flow: poke or reschedule as usual; when deferrable, check once and then defer.

    Mixed in before Airflow's ``BaseSensorOperator``. The XCom value is :meth:`_value` of the
    successful verdict, handed to :meth:`_publish` as well.

    :param deferrable: wait in the triggerer instead of a worker slot (default: Airflow's
        ``[operators] default_deferrable``)
    """

    reschedule: bool
    poke_interval: float
    timeout: float | None

    def __init__(self, *, deferrable: bool | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deferrable = default_deferrable() if deferrable is None else deferrable

    def _target(self, context: Context) -> Any:
        """What the sensor waits for.

        :param context: the task's context
        """
        raise NotImplementedError

    def _nonce(self) -> str | None:
        """The savepoint's nonce a trigger's success must carry, if one is awaited."""
        return None

    def _value(self, verdict: Verdict) -> Any:
        """The XCom value of a successful verdict (default: its savepoint's dict).

        :param verdict: the successful verdict
        """
        return verdict.savepoint

    def poke(self, context: Context) -> PokeReturnValue:
        """Check once: done, not yet, or fail."""
        verdict = self._check(self._target(context))
        return PokeReturnValue(is_done=self._decide(verdict), xcom_value=self._value(verdict))

    def execute(self, context: Context) -> Any:
        """Poke or reschedule as usual; when deferrable, check once and then defer to the trigger."""
        if not self.deferrable:
            result = super().execute(context)  # type: ignore[misc]
        else:
            timeout = float(self.timeout) if self.timeout is not None else SENSOR_DEFAULT_TIMEOUT
            verdict = self._check_or_defer(
                self._target(context),
                deadline=time.time() + timeout,
                poll_interval=float(self.poke_interval),
            )
            result = self._value(verdict)
        self._publish(context, result)
        return result

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired: check its event and return the result or fail.

        :param context: the task's context
        :param event: what the trigger sent
        """
        result = self._value(self._read_event(event, sensor=True, nonce=self._nonce()))
        self._publish(context, result)
        return result
