"""Errors raised by the LakeSail provider.

Every error the provider raises for the API is a :class:`LakeSailError`, itself an Airflow
``AirflowException``, so a DAG can catch one type.
"""

from __future__ import annotations

from airflow_provider_flinksp._compat import AirflowException, AirflowFailException

#: Statuses that say "try again later": gateways, throttling, overload.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


class LakeSailError(AirflowException):
    """Base of every provider error."""

    #: True where waiting and asking again may succeed (throttling, 5xx, the network).
    transient: bool = False


class LakeSailApiError(LakeSailError):
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
        super().__init__(f"LakeSail API {method} {path} failed with HTTP {status_code}: {detail}")

    def __reduce__(self) -> tuple[type[LakeSailApiError], tuple[str, str, int, str | None]]:
        return (type(self), (self.method, self.path, self.status_code, self.api_message))


class LakeSailConnectionError(LakeSailError):
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
        super().__init__(f"LakeSail API {method} {path} got no answer: {reason}")

    def __reduce__(self) -> tuple[type[LakeSailConnectionError], tuple[str, str, str]]:
        return (type(self), (self.method, self.path, self.reason))


class LakeSailResponseError(LakeSailError):
    """A success response whose body is not what the API documents (HTML, empty, wrong types)."""


class LakeSailSavepointFailedError(LakeSailError, AirflowFailException):
    """The awaited savepoint failed, vanished, or its job stopped; the task fails without retrying."""
