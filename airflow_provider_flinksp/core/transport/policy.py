"""The retry and error policy: the one place that decides "try again", "give up" or "parse".

Sans-IO: a transport sends, then reports what happened (a response, or a failure of one of three
kinds) to :class:`Attempts`, and does what the returned :class:`Step` says. The sync and the async
transport therefore cannot disagree about retries, errors or what a server's text may show.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any, Generic, NamedTuple, TypeVar

from airflow_provider_flinksp.exceptions import (
    ApiConnectionError,
    ApiError,
    ApiResponseError,
    FlinkspError,
)

T = TypeVar("T")

#: Connecting gets at most this long, whatever the request timeout.
CONNECT_TIMEOUT = 10.0
#: A ``Retry-After`` longer than this is not waited for in full.
RETRY_AFTER_CAP = 60.0
#: Backoff never waits longer than this between two attempts.
BACKOFF_CAP = 60.0
#: A response body larger than this is refused (a savepoint list is a few KiB).
MAX_BODY_BYTES = 8 * 1024 * 1024
#: Text from a server is cut to this many characters in errors, events and logs.
MAX_SERVER_TEXT = 300
#: A run of this many characters of a secret is blanked out of a server's text.
SECRET_RUN = 6


class Failure(Enum):
    """How a request that got no response failed."""

    #: The server cannot have acted on it (refused, connect timeout): safe to repeat a POST.
    NOT_SENT = "not sent"
    #: The server may have acted on it (reset, read timeout): only a GET is repeated.
    MAYBE_SENT = "maybe sent"
    #: Repeating cannot help (TLS, a bad CA bundle, a bad URL).
    FATAL = "fatal"


class TransportError(Exception):
    """Raised by a transport for a request that got no usable response.

    :param kind: what the policy may assume about the request
    :param reason: what happened, in words (no secrets)
    """

    def __init__(self, kind: Failure, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True)
class ErrorKinds:
    """The error classes one backend raises for the wire's three failures.

    :param api: an error status
    :param connection: no answer
    :param response: an answer that is not the documented shape
    :param message: reads the server's message out of a decoded error body (default: its
        ``message`` field)
    """

    api: type[ApiError]
    connection: type[ApiConnectionError]
    response: type[ApiResponseError]
    message: Callable[[Any], str | None] | None = None


class Reply(NamedTuple):
    """An HTTP response as the policy needs it.

    :param status: the HTTP status
    :param body: the body, or None when it was over :data:`MAX_BODY_BYTES`
    :param retry_after: the ``Retry-After`` header, if any
    :param location: the ``Location`` header, if any
    """

    status: int
    body: bytes | None
    retry_after: str | None = None
    location: str | None = None


def connect_timeout(total: float) -> float:
    """The connect timeout for a request with ``total`` seconds in all: strictly below the total,
    so that both transports see a slow connect as "not sent" (safe to repeat), never as a timeout
    of the whole request.

    :param total: the request's deadline, in seconds
    """
    return min(CONNECT_TIMEOUT, total * 0.9)


class BodyBuffer:
    """Collects a response body up to :data:`MAX_BODY_BYTES` (after decompression), for either
    transport: :meth:`add` says False once the cap is passed, and the transport stops reading."""

    __slots__ = ("chunks", "size")

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0

    @staticmethod
    def too_long(content_length: str | None) -> bool:
        """Whether a ``Content-Length`` alone already says the body is over the cap."""
        return (
            content_length is not None and content_length.isdigit() and int(content_length) > MAX_BODY_BYTES
        )

    def add(self, chunk: bytes) -> bool:
        """Keep a chunk; False (and nothing kept) once the body is over the cap."""
        self.size += len(chunk)
        if self.size > MAX_BODY_BYTES:
            self.chunks = []
            return False
        self.chunks.append(chunk)
        return True

    def body(self) -> bytes:
        """The body so far."""
        return b"".join(self.chunks)


class Step(Generic[T]):
    """What to do after one attempt: wait and try again, or finish with a value or an error.

    :param wait: seconds to wait before the next attempt (None: finished)
    :param value: the parsed answer
    :param error: the error to raise
    """

    __slots__ = ("error", "value", "wait")

    def __init__(
        self, wait: float | None = None, value: T | None = None, error: FlinkspError | None = None
    ) -> None:
        self.wait = wait
        self.value = value
        self.error = error

    def result(self) -> T:
        """The value, or raise the error."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class Attempts(Generic[T]):
    """The policy for one call: which failures to retry, how long to wait, what to raise.

    :param method: the HTTP method
    :param path: the API path, for messages
    :param parse: turns the decoded JSON body into the call's result; raises ApiResponseError
    :param limit: attempts in all
    :param delay: the first backoff in seconds
    :param errors: the backend's error classes
    :param secrets: texts to blank out of whatever a server sends back
    :param log: gives the logger that retries are reported to (called only when there is one to
        report, so that a hook makes its logger only then)
    :param idempotent: repeating the request cannot act twice (e.g. a POST that carries its own
        operation ID), so it is retried like a GET: also on 500, 502, 504 and "maybe sent" failures
    """

    __slots__ = (
        "attempt",
        "delay",
        "errors",
        "limit",
        "log",
        "method",
        "parse",
        "path",
        "repeatable",
        "secrets",
    )

    def __init__(
        self,
        method: str,
        path: str,
        parse: Callable[[Any], T],
        *,
        limit: int,
        delay: float,
        errors: ErrorKinds,
        secrets: tuple[str, ...],
        log: Callable[[], logging.Logger | logging.LoggerAdapter[Any]],
        idempotent: bool = False,
    ) -> None:
        self.method = method
        self.path = path
        self.parse = parse
        self.limit = limit
        self.delay = delay
        self.errors = errors
        self.secrets = secrets
        self.log = log
        self.attempt = 1
        #: a repeat cannot act twice: GETs, and requests the caller says are idempotent
        self.repeatable = method == "GET" or idempotent

    def on_reply(self, reply: Reply) -> Step[T]:
        """Decide after an HTTP response."""
        status, body = reply.status, reply.body
        if body is None:
            if 200 <= status < 300:
                return Step(error=self._response_error(status, f"a body over {MAX_BODY_BYTES} bytes"))
            body = b""  # an oversized error page: the status alone decides
        if 200 <= status < 300:
            return self._parse(status, body)
        retriable = status in (429, 503) or (self.repeatable and status in (500, 502, 504))
        if 300 <= status < 400:
            target = server_text(reply.location or "nowhere", self.secrets)
            message: str | None = f"redirect to {target} not followed (credentials go only to the set URL)"
        else:
            message = api_message(body, self.secrets, self.errors.message)
        error = self.errors.api(self.method, self.path, status, message)
        return self._again_or(error, retriable, parse_retry_after(reply.retry_after))

    def on_failure(self, failure: TransportError) -> Step[T]:
        """Decide after a request that got no response."""
        kind = failure.kind
        retriable = kind is Failure.NOT_SENT or (kind is Failure.MAYBE_SENT and self.repeatable)
        error = self.errors.connection(self.method, self.path, server_text(failure.reason, self.secrets))
        return self._again_or(error, retriable, None)

    def _again_or(self, error: FlinkspError, retriable: bool, retry_after: float | None) -> Step[T]:
        if not retriable or self.attempt >= self.limit:
            if retriable and self.limit > 1:
                self.log().warning("Giving up after %d attempts: %s", self.attempt, error)
            return Step(error=error)
        backoff = min(self.delay * 2 ** (self.attempt - 1), BACKOFF_CAP)
        wait = random.uniform(backoff / 2, backoff)
        if retry_after is not None:
            wait = max(wait, min(retry_after, RETRY_AFTER_CAP))
        self.log().warning(
            "Attempt %d of %d failed (%s); trying again in %.2f s", self.attempt, self.limit, error, wait
        )
        self.attempt += 1
        return Step(wait=wait)

    def _parse(self, status: int, body: bytes) -> Step[T]:
        if not body or body.isspace():
            return Step(error=self._response_error(status, "an empty body"))
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            text = body[:4096].decode("utf-8", "replace")
            what = "an HTML page" if text.lstrip().startswith("<") else "a body that is not JSON"
            return Step(error=self._response_error(status, f"{what}: {server_text(text, self.secrets)!r}"))
        if self.secrets:  # scrubbed only where a secret can be in it at all
            scrub = b"\\u" in body  # an escaped character may spell one
            for secret in self.secrets:
                scrub = scrub or secret.encode() in body
            if scrub:
                data = _scrub_strings(data, self.secrets)
        try:
            return Step(value=self.parse(data))
        except ApiResponseError as exc:
            return Step(error=self._response_error(status, f"an unexpected body: {exc}"))

    def _response_error(self, status: int, what: str) -> ApiResponseError:
        what = server_text(what, self.secrets)
        return self.errors.response(
            f"{self.errors.response.service} {self.method} {self.path} returned HTTP {status} with {what}"
        )


def _scrub_strings(data: Any, secrets: tuple[str, ...]) -> Any:
    """The decoded body with every secret blanked out of every string in it (a server or a proxy
    may echo the credentials into any field, which would then reach logs, XCom and events)."""
    if isinstance(data, str):
        for secret in secrets:
            if secret and secret in data:
                data = data.replace(secret, "***")
        return data
    if isinstance(data, list):
        return [_scrub_strings(item, secrets) for item in data]
    if isinstance(data, dict):
        return {key: _scrub_strings(value, secrets) for key, value in data.items()}
    return data


def api_message(
    body: bytes, secrets: tuple[str, ...] = (), read: Callable[[Any], str | None] | None = None
) -> str | None:
    """The server's message in an error body, scrubbed and shortened; None when there is none.

    :param body: the response body
    :param secrets: texts to blank out
    :param read: reads the message from the decoded body (default: its ``message`` field)
    """
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    message = (read or _message_field)(data)
    return server_text(message, secrets) if isinstance(message, str) else None


def _message_field(data: Any) -> str | None:
    message = data.get("message") if isinstance(data, dict) else None
    return message if isinstance(message, str) else None


def server_text(text: str, secrets: tuple[str, ...] = (), limit: int = MAX_SERVER_TEXT) -> str:
    """Text that came from a server, safe to show: secrets blanked out first, then shortened.

    Whole secrets are replaced before the text is cut, and then any run of :data:`SECRET_RUN` or
    more characters of a secret that is left (a partial echo, or one cut in two) is blanked too.

    :param text: the text
    :param secrets: texts to blank out
    :param limit: the most characters kept
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    for secret in secrets:
        if len(secret) >= SECRET_RUN:
            text = _blank_runs(text, secret)
    return text


def _blank_runs(text: str, secret: str) -> str:
    pieces = {secret[i : i + SECRET_RUN] for i in range(len(secret) - SECRET_RUN + 1)}
    hidden = [False] * len(text)
    for i in range(len(text) - SECRET_RUN + 1):
        if text[i : i + SECRET_RUN] in pieces:
            hidden[i : i + SECRET_RUN] = [True] * SECRET_RUN
    if not any(hidden):
        return text
    out: list[str] = []
    for i, char in enumerate(text):
        if not hidden[i]:
            out.append(char)
        elif i == 0 or not hidden[i - 1]:
            out.append("***")
    return "".join(out)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); None if absent or bad.

    Total: any text gives a finite wait >= 0, or None.

    :param value: the header's value
    :param now: the current epoch time (for HTTP dates)
    """
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not str.isdigit() alone: "\u00b2" is a digit to Python
        return min(float(value), 1e9)
    try:
        when = parsedate_to_datetime(value)
        if when is None or when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None
