"""Classes named by import path, imported at their first use (never when a DAG file is parsed)."""

from __future__ import annotations

import importlib
from typing import Any


def load(path: str) -> Any:
    """The object at ``path``, e.g. ``"airflow_provider_flinksp.flink.hook.FlinkRestHook"``.

    :param path: the module's dotted path, a dot, and the object's name
    """
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)
