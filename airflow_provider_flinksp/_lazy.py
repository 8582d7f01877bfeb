"""Public modules that load a backend only when one of its names is used.

A DAG file that imports the LakeSail classes does not pay for the Flink ones, and the other way
round: ``from airflow_provider_flinksp.operators import X`` imports the one module that defines X.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(module: str, homes: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` (PEP 562) of a public module whose names live elsewhere.

    :param module: the public module's name (``__name__``)
    :param homes: public name -> the module that defines it
    """
    namespace = importlib.import_module(module).__dict__

    def getattr_(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        namespace[name] = value  # found directly from now on
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *homes})

    return getattr_, dir_
