"""The trigger base every backend's triggers share: :class:`ApiTrigger` keeps the connection and
API settings, makes the async-capable hook, and serializes itself from a list of field names."""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from airflow_provider_flinksp.core.lazy import build_hook
from airflow_provider_flinksp.core.trigger import PollingTrigger

#: The API settings every trigger takes and serializes.
API_SETTINGS = ("retry_limit", "retry_delay", "request_timeout")


class ApiTrigger(PollingTrigger):
    """A polling trigger that talks to an API through the backend's hook.

    Serialized (besides the deadline and the poll interval) as the attributes named by
    :attr:`fields`, the connection ID and :data:`API_SETTINGS`: plain values only.

    :param deadline: absolute wall-clock deadline, epoch seconds
    :param poll_interval: seconds between two checks
    :param retry_limit: attempts per API call (None: the connection's or the hook's default)
    :param retry_delay: first backoff in seconds (None: the connection's or the hook's default)
    :param request_timeout: seconds per request (None: the connection's or the hook's default)
    """

    #: The attribute (and keyword argument) naming the Airflow connection.
    conn_id_attr: ClassVar[str]
    #: The backend's hook, as an import path (imported at the first use).
    hook_path: ClassVar[str]
    #: The trigger's own keyword arguments, kept as attributes of the same names.
    fields: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        deadline: float,
        poll_interval: float,
        retry_limit: int | None = None,
        retry_delay: float | None = None,
        request_timeout: float | None = None,
    ) -> None:
        super().__init__(deadline=deadline, poll_interval=poll_interval)
        self.retry_limit = retry_limit
        self.retry_delay = retry_delay
        self.request_timeout = request_timeout

    def serialize_fields(self) -> dict[str, Any]:
        """The plain keyword arguments besides the deadline and the poll interval."""
        names = (*self.fields, self.conn_id_attr, *API_SETTINGS)
        return {name: getattr(self, name) for name in names}

    @cached_property
    def hook(self) -> Any:
        """The async-capable hook, made once per trigger run."""
        conn_id = getattr(self, self.conn_id_attr)
        return build_hook(self.hook_path, conn_id, self.retry_limit, self.retry_delay, self.request_timeout)
