"""Public home of the provider's hooks (defined per backend in :mod:`.lakesail` and :mod:`.flink`)."""

from __future__ import annotations

from airflow_provider_flinksp.core.hook import ApiHook, aclose_async_clients
from airflow_provider_flinksp.flink.hook import FlinkRestHook
from airflow_provider_flinksp.lakesail.hook import LakeSailHook

__all__ = ["ApiHook", "FlinkRestHook", "LakeSailHook", "aclose_async_clients"]
