"""Checks on what a task is given, cheap enough for DAG parse time."""

from __future__ import annotations

import re
from collections.abc import Callable
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


def shown(value: object) -> str:
    """A value as an error message shows it: its repr, cut to 60 characters.

    :param value: the value
    """
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class IdRule:
    """An API's rule for one kind of ID; calling it checks a value before anything is sent:
    ``rule(name, value)`` returns the value unchanged, or raises ValueError naming the parameter
    and the rule.

    :param pattern: the rule, matched in full
    :param what: what the value must be, e.g. "a Flink job ID (32 hexadecimal digits)"
    """

    __slots__ = ("pattern", "what")

    def __init__(self, pattern: re.Pattern[str], what: str) -> None:
        self.pattern = pattern
        self.what = what

    def __call__(self, name: str, value: object) -> str:
        if isinstance(value, str) and self.pattern.fullmatch(value):
            return value
        raise ValueError(f"{name} must be {self.what}; got {shown(value)}")


def check_literals(validate: Callable[[str, object], object], **values: object) -> None:
    """Check values given as plain text when a task is built; templated or XCom values are
    checked after rendering, by the hook, before any request.

    :param validate: checks one value (the parameter's name, the value); raises ValueError
    :param values: parameter name to value
    """
    for name, value in values.items():
        if isinstance(value, str) and "{{" not in value and "{%" not in value:
            validate(name, value)
