"""Public home of the provider's triggers (defined per backend in :mod:`.lakesail` and :mod:`.flink`)."""

from __future__ import annotations

from airflow_provider_flinksp.core.trigger import PollingTrigger
from airflow_provider_flinksp.flink.triggers import FlinkSavepointTrigger
from airflow_provider_flinksp.lakesail.triggers import LakeSailSavepointTrigger, LakeSailSessionJobTrigger

__all__ = ["FlinkSavepointTrigger", "LakeSailSavepointTrigger", "LakeSailSessionJobTrigger", "PollingTrigger"]
