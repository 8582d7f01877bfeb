"""Public home of the provider's operators (defined per backend in :mod:`.lakesail` and :mod:`.flink`).

Importing this module at DAG parse time loads no HTTP client and no hook, and a name's backend is
loaded only when the name is used (a LakeSail DAG does not load the Flink classes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_flinksp._lazy import lazy_exports

if TYPE_CHECKING:
    from airflow_provider_flinksp.flink.operators import (
        FlinkLatestSavepointOperator,
        FlinkRunJarOperator,
        FlinkTriggerSavepointOperator,
    )
    from airflow_provider_flinksp.lakesail.operators import (
        LakeSailLatestSavepointOperator,
        LakeSailTriggerSavepointOperator,
    )
    from airflow_provider_flinksp.lakesail.session_jobs import LakeSailCreateSessionJobOperator

__all__ = [
    "FlinkLatestSavepointOperator",
    "FlinkRunJarOperator",
    "FlinkTriggerSavepointOperator",
    "LakeSailCreateSessionJobOperator",
    "LakeSailLatestSavepointOperator",
    "LakeSailTriggerSavepointOperator",
]

_FLINK = "airflow_provider_flinksp.flink.operators"
_LAKESAIL = "airflow_provider_flinksp.lakesail.operators"
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "FlinkLatestSavepointOperator": _FLINK,
        "FlinkRunJarOperator": _FLINK,
        "FlinkTriggerSavepointOperator": _FLINK,
        "LakeSailCreateSessionJobOperator": "airflow_provider_flinksp.lakesail.session_jobs",
        "LakeSailLatestSavepointOperator": _LAKESAIL,
        "LakeSailTriggerSavepointOperator": _LAKESAIL,
    },
)
