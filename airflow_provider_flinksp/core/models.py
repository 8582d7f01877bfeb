"""Savepoints as typed Python values, the same for every backend.

Parsing never raises anything but :class:`~airflow_provider_flinksp.exceptions.LakeSailResponseError`
for a body that is not the documented shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from airflow_provider_flinksp.exceptions import LakeSailResponseError

#: Longest text field of a savepoint (a location is a URI): longer is not the documented shape.
MAX_FIELD_CHARS = 4096


def parse_timestamp(value: str, where: str) -> datetime:
    """Parse an API date-time (``YYYY-MM-DDTHH:mm:ss.sssZ``) into an aware ``datetime``.

    :param value: the text
    :param where: where it was found, for the message
    """
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=timezone.utc)
        # In UTC now, so to_dict() and describe() cannot overflow later (0001-01-01T00:00+01:00).
        return parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise LakeSailResponseError(f"{where} is not an ISO-8601 date-time: {value[:60]!r}") from None


def _optional_str(data: dict[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise LakeSailResponseError(f"{where}.{key} should be a string, got {type(value).__name__}")
    if value is not None and len(value) > MAX_FIELD_CHARS:
        raise LakeSailResponseError(f"{where}.{key} is {len(value)} characters, more than {MAX_FIELD_CHARS}")
    return value


@dataclass(frozen=True, slots=True)
class Savepoint:
    """One savepoint of a Flink session job.

    :param trigger_type: what triggered it (``MANUAL``, ``PERIODIC``, ``UNKNOWN``, ``UPGRADE``; other
        values are kept as they come)
    :param location: where a completed savepoint is stored; what a restore needs
    :param trigger_nonce: identifies a manually triggered savepoint
    :param triggered_at: when it was triggered (timezone-aware)
    """

    trigger_type: str
    location: str | None = None
    trigger_nonce: str | None = None
    triggered_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.triggered_at is not None and self.triggered_at.tzinfo is None:  # naive means UTC
            object.__setattr__(self, "triggered_at", self.triggered_at.replace(tzinfo=timezone.utc))

    @classmethod
    def from_api(cls, data: object, where: str = "savepoint") -> Savepoint:
        """Build one from the API's JSON object.

        :param data: the decoded JSON value
        :param where: where it was found, for error messages
        :raises LakeSailResponseError: when it is not the documented shape
        """
        known = _known(data)
        if known is not None:
            return known
        if not isinstance(data, dict):
            raise LakeSailResponseError(f"{where} should be a JSON object, got {json_type(data)}")
        if not isinstance(data.get("triggerType"), str):
            raise LakeSailResponseError(f"{where}.triggerType is required and should be a string")
        trigger_type = str(_optional_str(data, "triggerType", where))
        triggered_at = _optional_str(data, "triggeredAt", where)
        savepoint = cls(
            trigger_type=trigger_type,
            location=_optional_str(data, "location", where),
            trigger_nonce=_optional_str(data, "triggerNonce", where),
            triggered_at=None
            if triggered_at is None
            else parse_timestamp(triggered_at, f"{where}.triggeredAt"),
        )
        _remember(data, savepoint)
        return savepoint

    def to_dict(self) -> dict[str, str | None]:
        """The API's shape, always with the four keys; ``triggeredAt`` as an ISO-8601 string."""
        return {
            "location": self.location,
            "triggerType": self.trigger_type,
            "triggerNonce": self.trigger_nonce,
            "triggeredAt": None if self.triggered_at is None else format_timestamp(self.triggered_at),
        }

    def describe(self, *, with_nonce: bool = True) -> str:
        """A short human description for logs: type, nonce, when.

        :param with_nonce: include the nonce (leave it out where the message already names it)
        """
        parts = [self.trigger_type]
        if with_nonce and self.trigger_nonce:
            parts.append(f"nonce {self.trigger_nonce}")
        parts.append(
            f"triggered {format_timestamp(self.triggered_at)}" if self.triggered_at else "no trigger time"
        )
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class SavepointList:
    """A session job's savepoints: at most one pending, and the completed history.

    :param pending: the savepoint in progress, if any (zero or one item)
    :param completed: completed savepoints, in the order the API listed them
    """

    pending: list[Savepoint] = field(default_factory=list)
    completed: list[Savepoint] = field(default_factory=list)

    @classmethod
    def from_api(cls, data: object) -> SavepointList:
        """Build one from the API's ``FlinkSavepointList``.

        :param data: the decoded JSON value
        :raises LakeSailResponseError: when it is not the documented shape
        """
        if not isinstance(data, dict):
            raise LakeSailResponseError(f"savepoint list should be a JSON object, got {json_type(data)}")
        lists = []
        for key in ("pending", "completed"):
            items = data.get(key)
            if not isinstance(items, list):
                raise LakeSailResponseError(
                    f"savepoint list needs '{key}' as a JSON array, got {json_type(items, key in data)}"
                )
            try:  # the usual case: every item was parsed before (the same list, polled again)
                lists.append([_PARSED[_fields(item)] for item in items])
            except (KeyError, AttributeError, TypeError):
                lists.append([Savepoint.from_api(item, f"{key}[{i}]") for i, item in enumerate(items)])
        return cls(pending=lists[0], completed=lists[1])

    def to_dict(self) -> dict[str, list[dict[str, str | None]]]:
        """The API's ``FlinkSavepointList`` shape: ``{"pending": [...], "completed": [...]}``."""
        return {
            "pending": [savepoint.to_dict() for savepoint in self.pending],
            "completed": [savepoint.to_dict() for savepoint in self.completed],
        }

    def find(self, trigger_nonce: str) -> tuple[str, Savepoint] | None:
        """Where the savepoint with this nonce is: ``("completed", sp)``, ``("pending", sp)`` or None.

        :param trigger_nonce: the nonce the trigger call returned
        """
        for savepoint in reversed(self.completed):
            if savepoint.trigger_nonce == trigger_nonce:
                return "completed", savepoint
        for savepoint in self.pending:
            if savepoint.trigger_nonce == trigger_nonce:
                return "pending", savepoint
        return None


#: Savepoints already parsed, by their four raw fields: a waiting task or trigger reads the same
#: list again at every poll, and a :class:`Savepoint` is immutable, so one parse serves them all.
_PARSED: dict[tuple[object, ...], Savepoint] = {}
_PARSED_LIMIT = 4096


_FIELDS = ("triggerType", "location", "triggerNonce", "triggeredAt")


def _fields(data: dict[str, Any]) -> tuple[object, ...]:
    return tuple(map(data.get, _FIELDS))


def _known(data: object) -> Savepoint | None:
    """The savepoint parsed before from a JSON object with these same fields, if any."""
    if type(data) is not dict:
        return None
    try:
        return _PARSED.get(_fields(data))
    except TypeError:  # a field holds an array or an object: not the documented shape
        return None


def _remember(data: dict[str, Any], savepoint: Savepoint) -> None:
    if len(_PARSED) >= _PARSED_LIMIT:
        _PARSED.clear()
    _PARSED[_fields(data)] = savepoint


@lru_cache(maxsize=1024)
def format_timestamp(value: datetime) -> str:
    """``YYYY-MM-DDTHH:mm:ss.sssZ`` (microseconds when they are not whole milliseconds), in UTC.

    :param value: an aware date-time
    """
    utc = value.astimezone(timezone.utc)
    spec = "milliseconds" if utc.microsecond % 1000 == 0 else "microseconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def json_type(value: object, present: bool = True) -> str:
    if not present:
        return "nothing (key missing)"
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)
