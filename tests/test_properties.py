"""Property-based tests (hypothesis, derandomized: the same 200 examples on every run): parsing any
JSON (models, and the hook's parse path on both wires) gives a result or a LakeSailResponseError,
and valid savepoints and lists round-trip through ``to_dict``."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st

from airflow_provider_flinksp import hooks
from airflow_provider_flinksp.core.models import Savepoint, SavepointList
from airflow_provider_flinksp.core.transport.policy import parse_retry_after
from airflow_provider_flinksp.core.transport.settings import ConnectionSettings
from airflow_provider_flinksp.exceptions import LakeSailApiError, LakeSailResponseError
from airflow_provider_flinksp.hooks import LakeSailHook
from tests.conftest import bearer

#: Deterministic; no example database and no "explain" phase, so nothing is written into the tree.
NO_EXPLAIN = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)
PROPERTY = settings(derandomize=True, max_examples=200, deadline=None, database=None, phases=NO_EXPLAIN)
BASE = "https://lakesail.test"
LIST_PATH = "/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs/JOB1/savepoints"
IDS = ("WS1", "SESS1", "JOB1")
KEYS = ("location", "triggerType", "triggerNonce", "triggeredAt")
TYPES = ("MANUAL", "PERIODIC", "UNKNOWN", "UPGRADE")

# -- strategies ------------------------------------------------------------------------------------

# floats: NaN and infinities too (Python's json reads them)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda minutes: timezone(timedelta(minutes=minutes)))
any_datetimes = st.datetimes(timezones=st.none() | offsets)
#: Text that is often a date-time, in the API's format or another ISO-8601 spelling, at any offset.
timestamp_texts = st.one_of(
    any_datetimes.map(lambda d: d.isoformat()),
    any_datetimes.map(lambda d: d.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"),
    st.text(alphabet="0123456789-:TZ.+ ", max_size=30),
)
#: Values for the four savepoint fields: mostly plausible, sometimes anything.
field_values = st.one_of(st.sampled_from(TYPES), st.text(max_size=20), timestamp_texts, json_values)
savepoint_like = st.dictionaries(st.sampled_from((*KEYS, "extra")), field_values, max_size=5)
list_like = st.dictionaries(
    st.sampled_from(("pending", "completed", "marker")),
    st.lists(savepoint_like | json_values, max_size=4) | json_values,
    max_size=3,
)
anything = json_values | savepoint_like | list_like

# Valid API objects: documented shapes, timestamps in the API's format (UTC, milliseconds).
api_timestamps = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000).isoformat(timespec="milliseconds") + "Z"
)
valid_savepoints = st.fixed_dictionaries(
    {"triggerType": st.sampled_from(TYPES) | st.text(max_size=10)},
    optional={
        "location": st.none() | st.text(max_size=40),
        "triggerNonce": st.none() | st.text(max_size=36),
        "triggeredAt": st.none() | api_timestamps,
    },
)
valid_lists = st.fixed_dictionaries(
    {"pending": st.lists(valid_savepoints, max_size=1), "completed": st.lists(valid_savepoints, max_size=6)}
)


def full(data: dict[str, Any]) -> dict[str, Any]:
    """An API savepoint as to_dict() gives it back: all four keys, None where absent."""
    return {key: data.get(key) for key in KEYS}


# -- parsing is total: a result or a LakeSailResponseError ----------------------------------------------


def parses_or_says_why(parse: Any, data: object) -> Any:
    """Run a parser; only LakeSailResponseError may come out of it."""
    try:
        return parse(data)
    except LakeSailResponseError as exc:
        message = str(exc)
    assert message, "a LakeSailResponseError should say what was wrong"
    return None


@PROPERTY
@given(savepoint_like | json_values)
@example({"triggerType": "MANUAL", "triggeredAt": "0001-01-01T00:00:00+01:00"})
def test_savepoint_from_api_is_total(data: object) -> None:
    """Savepoint.from_api on any JSON: a Savepoint that to_dict() and describe() can show, or
    LakeSailResponseError (the sensor and the operators return to_dict() of what they parsed)."""
    savepoint = parses_or_says_why(Savepoint.from_api, data)
    if savepoint is not None:
        assert isinstance(savepoint, Savepoint)
        assert savepoint.to_dict()["triggerType"] == savepoint.trigger_type
        assert savepoint.describe()


def _offline_hook(base_url: str = BASE) -> LakeSailHook:
    hook = LakeSailHook(retry_limit=1)
    hook._settings = ConnectionSettings(base_url=base_url, **bearer("offline-token"))
    return hook


def _sync_list(body: str) -> SavepointList:
    """One sync list call (requests) that gets this JSON body on 200."""
    import requests_mock

    with requests_mock.Mocker() as server:
        server.get(BASE + LIST_PATH, text=body, headers={"Content-Type": "application/json"})
        return _offline_hook().list_session_job_savepoints(*IDS)


def _async_list(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> SavepointList:
    """One async list call against a loopback server that sends exactly this response."""
    head = f"HTTP/1.1 {status} X\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in (headers or {}).items()
    )
    answer = head.encode("latin-1") + b"Content-Length: %d\r\n\r\n" % len(body) + body

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            await writer.drain()
        writer.close()

    async def go() -> SavepointList:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        try:
            hook = _offline_hook(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
            return await hook.a_list_session_job_savepoints(*IDS)
        finally:
            await hooks.aclose_async_clients()
            server.close()

    return asyncio.run(go())


@PROPERTY
@given(anything)
def test_savepoint_list_parse_paths_are_total(data: object) -> None:
    """SavepointList.from_api, and the hook on both wires given the JSON on 200: the same
    SavepointList, or LakeSailResponseError."""
    direct = parses_or_says_why(SavepointList.from_api, data)
    assert direct is None or isinstance(direct, SavepointList)
    assert parses_or_says_why(_sync_list, json.dumps(data)) == direct
    assert parses_or_says_why(_async_list, json.dumps(data).encode()) == direct


@PROPERTY
@given(st.binary(max_size=200))
def test_hook_any_bytes_is_total(body: bytes) -> None:
    """Any bytes at all as a 200 body: a SavepointList or LakeSailResponseError."""
    result = parses_or_says_why(_async_list, body)
    assert result is None or isinstance(result, SavepointList)


@PROPERTY
@given(st.text(alphabet=st.characters(max_codepoint=255), max_size=40))
@example("\u00b2")
def test_retry_after_parse_is_total(value: str) -> None:
    """Any Retry-After header text (headers are latin-1): seconds >= 0, or None to ignore it."""
    waited = parse_retry_after(value, now=1_800_000_000.0)
    assert waited is None or waited >= 0


@PROPERTY
@given(st.text(alphabet="0123456789 ", max_size=12))
def test_retry_after_digits_on_the_wire(value: str) -> None:
    """A 503 with any ASCII Retry-After: the hook gives up with the 503 (one attempt here)."""
    with pytest.raises(LakeSailApiError) as caught:
        _async_list(b'{"message": "busy"}', status=503, headers={"Retry-After": value})
    assert caught.value.status_code == 503


# -- round trips -----------------------------------------------------------------------------------


@PROPERTY
@given(valid_lists)
@example({"pending": [], "completed": [{"triggerType": "MANUAL"}]})
def test_savepoint_list_round_trip(data: dict[str, Any]) -> None:
    """A documented list parses to the same savepoints, in order, whose to_dict() (and the list's)
    gives the API's shape back (absent keys as None) and parses to an equal list."""
    parsed = SavepointList.from_api(data)
    expected = {key: [full(item) for item in data[key]] for key in ("pending", "completed")}
    assert {key: [sp.to_dict() for sp in getattr(parsed, key)] for key in expected} == expected
    assert parsed.to_dict() == expected
    assert SavepointList.from_api(parsed.to_dict()) == parsed
    assert all(Savepoint.from_api(sp.to_dict()) == sp for sp in parsed.pending + parsed.completed)
