"""Checks on what a task is given, cheap enough for DAG parse time."""

from __future__ import annotations

from datetime import timedelta


def as_seconds(value: timedelta | float, name: str) -> float:
    """A duration given as a timedelta or a number of seconds, checked.

    :param value: the duration
    :param name: the parameter's name, for the message
    :raises ValueError: when it is negative or not a duration
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        seconds = -1.0
    if not seconds >= 0:
        raise ValueError(f"{name} must be a timedelta or a number of seconds >= 0, got {value!r}")
    return seconds
