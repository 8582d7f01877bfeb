"""Which completed savepoint is "the latest": the rule the operators and the sensor share."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta, timezone

from airflow_provider_flinksp.core.models import Savepoint

_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)


def choose_latest(
    completed: Sequence[Savepoint],
    *,
    trigger_nonce: str | None = None,
    trigger_types: Collection[str] | None = None,
    max_age: timedelta | None = None,
    now: datetime | None = None,
) -> tuple[Savepoint | None, str]:
    """Choose the latest restorable completed savepoint.

    Latest means the greatest ``triggered_at``; savepoints without one rank below those with one,
    and among equals the later position in the list wins. Savepoints without a location are
    passed over: nothing can be restored from them.

    :param completed: the completed savepoints, in the API's order
    :param trigger_nonce: take only the savepoint with this nonce
    :param trigger_types: take only savepoints of these trigger types
    :param max_age: refuse the chosen savepoint if it was triggered longer ago than this (or has no
        trigger time)
    :param now: the current time (default: now, UTC)
    :return: the savepoint (or None) and a sentence saying what was found and which filters applied
    """
    restorable = [(i, sp) for i, sp in enumerate(completed) if sp.location]
    candidates = restorable
    filters = []
    if trigger_nonce is not None:
        candidates = [(i, sp) for i, sp in candidates if sp.trigger_nonce == trigger_nonce]
        filters.append(f"trigger_nonce={trigger_nonce!r}")
    if trigger_types is not None:
        wanted = set(trigger_types)
        candidates = [(i, sp) for i, sp in candidates if sp.trigger_type in wanted]
        filters.append(f"trigger_types={sorted(wanted)}")
    found = (
        f"{len(completed)} completed savepoint(s), {len(restorable)} with a location, "
        f"{len(candidates)} matching {', '.join(filters) or 'no filters'}"
    )
    if not candidates:
        return None, found
    _, best = max(
        candidates, key=lambda c: (c[1].triggered_at is not None, c[1].triggered_at or _EARLIEST, c[0])
    )
    if max_age is not None:
        current = now or datetime.now(timezone.utc)
        if best.triggered_at is None:
            return None, f"{found}; the latest has no trigger time, so max_age={max_age} cannot hold"
        age = current - best.triggered_at
        if age > max_age:
            return None, f"{found}; the latest ({best.describe()}) is {age} old, more than max_age={max_age}"
    return best, found
