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


def build_hook(
    path: str, conn_id: str, retry_limit: int | None, retry_delay: float | None, timeout: float | None
) -> Any:
    """The hook at ``path`` for a connection, with a task's or a trigger's API settings.

    :param path: the hook class's import path
    :param conn_id: the Airflow connection
    :param retry_limit: attempts per API call (None: the connection's or the hook's default)
    :param retry_delay: first backoff in seconds (None: the connection's or the hook's default)
    :param timeout: seconds per request (None: the connection's or the hook's default)
    """
    return load(path)(conn_id, retry_limit=retry_limit, retry_delay=retry_delay, timeout=timeout)
