"""Faults the fake server injects: error statuses (with ``Retry-After``), connection resets, stalls, odd
bodies and redirects, either explicitly (:class:`Fault`) or at random from a seed (:class:`RandomFaults`).

Faults apply before authentication and routing.
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass, field

#: Kinds of explicit faults.
FAULT_KINDS = frozenset({"status", "reset", "stall", "body", "redirect"})
#: Kinds of random faults, besides any status code given as text (``"503"``).
RANDOM_KINDS = frozenset({"reset", "stall", "html", "truncated"})
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
_HTML_PAGE = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
_TRUNCATED_JSON = b'{"pending": [{"triggerTy'

#: What a non-reset, non-stall fault answers: status, body, Content-Type, extra headers.
Answer = tuple[int, bytes, str, list[tuple[str, str]]]


def _header_text(value: float | str) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _message(text: str) -> bytes:
    return json.dumps({"message": text}).encode("utf-8")


@dataclass(kw_only=True)
class Fault:
    """One fault for matching requests; ``seconds`` delays any kind, and is the whole point of ``"stall"``.

    :param kind: ``"status"`` (answer ``status`` with a ``{"message"}`` body, or the raw ``body``),
        ``"reset"`` (TCP reset, no response), ``"stall"`` (sleep ``seconds``, then answer normally),
        ``"body"`` (answer ``status`` or 200 with the raw ``body`` and ``content_type``), ``"redirect"``
        (answer ``status`` or 302 with ``Location: body``)
    :param status: the status for ``"status"`` (required), ``"body"`` and ``"redirect"``
    :param retry_after: a ``Retry-After`` header value for ``"status"``
    :param body: raw body (str is UTF-8 encoded); for ``"redirect"`` the target URL (required)
    :param content_type: Content-Type of a raw body (default JSON)
    :param seconds: delay before acting
    :param times: how many matching requests it applies to; None for every one until cleared
    :param method: only requests with this method (e.g. ``"POST"``)
    :param path_contains: only requests whose target contains this substring
    """

    kind: str
    status: int | None = None
    retry_after: float | str | None = None
    body: bytes | str | None = None
    content_type: str | None = None
    seconds: float = 0.0
    times: int | None = 1
    method: str | None = None
    path_contains: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {sorted(FAULT_KINDS)}")
        if self.kind == "status" and self.status is None:
            raise ValueError('a "status" fault needs status=')
        if self.kind == "redirect" and not self.body:
            raise ValueError('a "redirect" fault needs the target URL as body=')
        if self.method is not None:
            self.method = self.method.upper()

    @property
    def label(self) -> str:
        """What it is, for counting: the status code as text for ``"status"``, else the kind."""
        return str(self.status) if self.kind == "status" else self.kind

    def matches(self, method: str, target: str) -> bool:
        """Whether it applies to a request.

        :param method: the request's method
        :param target: the request target (path and query)
        """
        if self.method is not None and self.method != method:
            return False
        return self.path_contains is None or self.path_contains in target

    def answer(self) -> Answer:
        """The response of a ``"status"``, ``"body"`` or ``"redirect"`` fault."""
        raw = self.body.encode("utf-8") if isinstance(self.body, str) else self.body
        content_type = self.content_type or JSON_CONTENT_TYPE
        if self.kind == "body":
            return self.status or 200, raw or b"", content_type, []
        if self.kind == "redirect":
            location = (raw or b"").decode("utf-8")
            return (
                self.status or 302,
                _message(f"moved to {location}"),
                JSON_CONTENT_TYPE,
                [("Location", location)],
            )
        status = self.status or 500
        headers = [] if self.retry_after is None else [("Retry-After", _header_text(self.retry_after))]
        return (
            status,
            raw if raw is not None else _message(f"injected fault: HTTP {status}"),
            content_type,
            headers,
        )


@dataclass(kw_only=True)
class RandomFaults:
    """Give each matching request a fault with probability ``rate``, drawn from ``random.Random(seed)``:
    the same seed and the same sequence of requests give the same faults.

    :param rate: probability of a fault per matching request (0 to 1)
    :param seed: the random seed
    :param kinds: kinds to choose from: a status code as text (``"503"``; 429 and 503 carry
        ``Retry-After``), ``"reset"``, ``"stall"``, ``"html"`` (200 with an HTML page) or ``"truncated"``
        (200 with cut-off JSON)
    :param stall_seconds: how long a ``"stall"`` sleeps
    :param retry_after: the ``Retry-After`` value for 429 and 503, or None for none
    :param methods: only requests with these methods; None for all
    :param path_contains: only requests whose target contains this substring
    """

    rate: float = 0.35
    seed: int = 123
    kinds: tuple[str, ...] = ("503", "429", "reset", "stall")
    stall_seconds: float = 2.0
    retry_after: float | str | None = 1
    methods: tuple[str, ...] | None = ("GET",)
    path_contains: str | None = None
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if not self.kinds:
            raise ValueError("kinds must not be empty")
        for kind in self.kinds:
            if not (kind.isdigit() or kind in RANDOM_KINDS):
                raise ValueError(f"unknown random fault kind {kind!r}")
        self.kinds = tuple(self.kinds)
        self.methods = None if self.methods is None else tuple(m.upper() for m in self.methods)
        self._rng = random.Random(self.seed)

    def draw(self, method: str, target: str) -> Fault | None:
        """Draw the fault for one request, or None.

        :param method: the request's method
        :param target: the request target
        """
        if self.methods is not None and method not in self.methods:
            return None
        if self.path_contains is not None and self.path_contains not in target:
            return None
        if self._rng.random() >= self.rate:
            return None
        kind = self._rng.choice(self.kinds)
        if kind.isdigit():
            retry = self.retry_after if kind in ("429", "503") else None
            return Fault(kind="status", status=int(kind), retry_after=retry)
        if kind == "html":
            return Fault(kind="body", body=_HTML_PAGE, content_type="text/html; charset=utf-8")
        if kind == "truncated":
            return Fault(kind="body", body=_TRUNCATED_JSON)
        return Fault(kind=kind, seconds=self.stall_seconds if kind == "stall" else 0.0)


class FaultPlan:
    """The faults of one server: explicit ones first, in the order added, then the random ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._random: RandomFaults | None = None

    def add(self, fault: Fault) -> None:
        """Add an explicit fault (ignored when ``times`` is 0 or less).

        :param fault: the fault
        """
        if fault.times is None or fault.times > 0:
            with self._lock:
                self._faults.append(fault)

    def set_random(self, faults: RandomFaults | None) -> None:
        """Set (or with None, remove) the random faults.

        :param faults: the random fault settings
        """
        with self._lock:
            self._random = faults

    def clear(self) -> None:
        """Remove all explicit and random faults."""
        with self._lock:
            self._faults.clear()
            self._random = None

    def take(self, method: str, target: str) -> Fault | None:
        """The fault for one arriving request, counted against its ``times``; None for no fault.

        :param method: the request's method
        :param target: the request target
        """
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(method, target):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            del self._faults[index]
                    return fault
            return None if self._random is None else self._random.draw(method, target)
