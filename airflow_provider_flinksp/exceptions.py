"""Errors raised by the provider.

Every error the provider raises for an API is a :class:`FlinkspError`, itself an Airflow
``AirflowException``: :class:`LakeSailError` for the LakeSail API and :class:`FlinkError` for
Apache Flink's REST API. The wire's errors share a kind across both: :class:`ApiError` (an error
status), :class:`ApiConnectionError` (no answer) and :class:`ApiResponseError` (an answer that is
not the documented shape), so code that waits on either backend can catch one type.
"""

from __future__ import annotations

from airflow_provider_flinksp._compat import AirflowException, AirflowFailException

#: Statuses that say "try again later": gateways, throttling, overload.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


class FlinkspError(AirflowException):
    """Base of every provider error."""

    #: True where waiting and asking again may succeed (throttling, 5xx, the network).
    transient: bool = False
    #: Which API the error came from, for messages.
    service: str = "API"


class ApiError(FlinkspError):
    """The API answered with an error status.

    :param method: the HTTP method
    :param path: the request path (no host, no token)
    :param status_code: the HTTP status
    :param api_message: the server's ``message``, or None when the body had none
    """

    def __init__(self, method: str, path: str, status_code: int, api_message: str | None) -> None:
        self.method = method
        self.path = path
        self.status_code = status_code
        self.api_message = api_message
        self.transient = status_code in TRANSIENT_STATUSES
        detail = api_message if api_message is not None else "no message in the response body"
        super().__init__(f"{self.service} {method} {path} failed with HTTP {status_code}: {detail}")

    def __reduce__(self) -> tuple[type[ApiError], tuple[str, str, int, str | None]]:
        return (type(self), (self.method, self.path, self.status_code, self.api_message))


class ApiConnectionError(FlinkspError):
    """The request did not get an answer: refused, reset, timed out.

    :param method: the HTTP method
    :param path: the request path
    :param reason: what happened, without the token
    """

    transient = True

    def __init__(self, method: str, path: str, reason: str) -> None:
        self.method = method
        self.path = path
        self.reason = reason
        super().__init__(f"{self.service} {method} {path} got no answer: {reason}")

    def __reduce__(self) -> tuple[type[ApiConnectionError], tuple[str, str, str]]:
        return (type(self), (self.method, self.path, self.reason))


class ApiResponseError(FlinkspError):
    """A success response whose body is not what the API documents (HTML, empty, wrong types)."""


class LakeSailError(FlinkspError):
    """Base of the errors about the LakeSail API."""

    service = "LakeSail API"


class LakeSailApiError(LakeSailError, ApiError):
    """The LakeSail API answered with an error status (see :class:`ApiError`)."""


class LakeSailConnectionError(LakeSailError, ApiConnectionError):
    """A LakeSail request got no answer (see :class:`ApiConnectionError`)."""


class LakeSailResponseError(LakeSailError, ApiResponseError):
    """A LakeSail success response that is not the documented shape."""


class LakeSailSavepointFailedError(LakeSailError, AirflowFailException):
    """The awaited savepoint failed, vanished, or its job stopped; the task fails without retrying."""


class LakeSailJobFailedError(LakeSailError, AirflowFailException):
    """A session job reached a failure state (``FAILED``, ``DELETING``) while it was awaited; no retry."""


class FlinkError(FlinkspError):
    """Base of the errors about Apache Flink's REST API."""

    service = "Flink REST API"


class FlinkApiError(FlinkError, ApiError):
    """Flink's REST API answered with an error status (see :class:`ApiError`)."""


class FlinkConnectionError(FlinkError, ApiConnectionError):
    """A Flink REST request got no answer (see :class:`ApiConnectionError`)."""


class FlinkResponseError(FlinkError, ApiResponseError):
    """A Flink success response that is not the shape this provider expects."""


class FlinkSavepointFailedError(FlinkError, AirflowFailException):
    """The awaited Flink savepoint failed (with Flink's failure cause) or its job stopped; no retry."""
