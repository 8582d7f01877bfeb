"""The API key stays secret: masked as soon as it is read, and absent from exception texts, XCom,
rendered fields, the metadata DB, reprs and our logs. Each test has its own random token, so a leak
is not hidden by another test's registration with Airflow's process-wide masker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sqlite3
import time
import uuid
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_flinksp._compat import AIRFLOW_V3
from airflow_provider_flinksp.core.transport.sync import _HeaderAuth as _BearerAuth
from airflow_provider_flinksp.exceptions import LakeSailError
from airflow_provider_flinksp.hooks import LakeSailHook, aclose_async_clients
from airflow_provider_flinksp.testing import FakeLakeSail
from airflow_provider_flinksp.triggers import LakeSailSavepointTrigger
from tests.conftest import point_at
from tests.dag_runs import load_module

IDS = ("WS1", "SESS1", "JOB1")


def new_token() -> str:
    """A token no other test has registered with the masker."""
    return f"lsk-{uuid.uuid4().hex}"


def redact(text: str) -> str:
    """Airflow's own redaction, as task logs get it (Airflow 3: the Task SDK's masker)."""
    if AIRFLOW_V3:
        from airflow.sdk._shared.secrets_masker import redact as airflow_redact
    else:  # Airflow 2.11
        from airflow.utils.log.secrets_masker import redact as airflow_redact
    return str(airflow_redact(text))


def masker_classes() -> list[type]:
    """Every SecretsMasker class the installed Airflow has (Airflow 3 has a core and an SDK copy)."""
    if AIRFLOW_V3:
        from airflow._shared.secrets_masker.secrets_masker import SecretsMasker as Core
        from airflow.sdk._shared.secrets_masker.secrets_masker import SecretsMasker as Sdk

        return [Core, Sdk]
    from airflow.utils.log.secrets_masker import SecretsMasker

    return [SecretsMasker]


def conn_like(token: str, host: str | None = "https://lakesail.example.com", extra: Any = None) -> Any:
    """The fields ConnectionSettings reads; a plain object, so Airflow itself masks nothing."""
    extra = extra or {}
    fields = {"conn_id": "secret_test", "host": host, "schema": None, "port": None, "password": token}
    return SimpleNamespace(**fields, extra=json.dumps(extra), extra_dejson=extra)


@pytest.fixture
def token_server(fake: FakeLakeSail, monkeypatch: pytest.MonkeyPatch) -> FakeLakeSail:
    """The fake with a fresh token, and ``lakesail_default`` pointing at it."""
    fake.token = new_token()
    point_at(monkeypatch, fake)
    return fake


@pytest.mark.parametrize(
    "conn",
    [{}, {"host": None}, {"host": "ftp://lakesail.example.com"}, {"extra": {"timeout": "soon"}}],
    ids=["good", "no-host", "bad-scheme", "bad-extra"],
)
def test_token_masked_as_soon_as_read(conn: dict[str, Any]) -> None:
    """Reading the connection masks the token, also when it is rejected (and the error omits it)."""
    token = new_token()
    assert token in redact(f"x {token}")  # not known to the masker yet
    with pytest.raises(LakeSailError) if conn else contextlib.nullcontext() as caught:
        LakeSailHook().read_settings(conn_like(token, **conn))
    assert redact(f"Authorization: Bearer {token}") == "Authorization: Bearer ***"
    if caught is not None:
        assert_not_in_exception(token, caught.value)


def assert_not_in_exception(token: str, exc: BaseException) -> None:
    """Not in the text, repr, args or attributes of the exception or anything it chains to."""
    seen: BaseException | None = exc
    while seen is not None:
        for shown in (str(seen), repr(seen), repr(seen.args), repr(vars(seen))):
            assert token not in shown, f"token in {type(seen).__name__}: {shown}"
        seen = seen.__cause__ or seen.__context__


def call(wire: str, hook: LakeSailHook | None = None, operation: str = "list_session_job_savepoints") -> Any:
    """One hook call through the sync or the async wire."""
    hook = hook or LakeSailHook(retry_limit=2, timeout=0.3)
    if wire == "sync":
        return getattr(hook, operation)(*IDS)

    async def go() -> Any:
        try:
            return await getattr(hook, f"a_{operation}")(*IDS)
        finally:
            await aclose_async_clients()

    return asyncio.run(go())


def _status(status: int, echo: bool = False) -> Callable[[FakeLakeSail], None]:
    def setup(srv: FakeLakeSail) -> None:
        body = json.dumps({"message": f"rejected Authorization: Bearer {srv.token}"}) if echo else None
        srv.add_fault("status", status=status, body=body, times=None)

    return setup


#: Every error class the hook raises (API errors, bad bodies, connection errors): how to set it up.
FAILURES: dict[str, Callable[[FakeLakeSail], Any]] = {
    "401-wrong-token": lambda srv: setattr(srv, "token", new_token()),
    **{str(status): _status(status) for status in (403, 404, 503)},
    "redirect": lambda srv: srv.add_fault("redirect", body="https://elsewhere.example/x", times=None),
    "html-200": lambda srv: srv.add_fault("body", body=b"<html>oops</html>", times=None),
    "reset": lambda srv: srv.add_fault("reset", times=None),
    "timeout": lambda srv: srv.add_fault("stall", seconds=0.6, times=None),
    "refused": lambda srv: srv.stop(),
    # The server quotes the Authorization header back, in an error message or in a 200 HTML page.
    **{f"echo-{status}": _status(status, echo=True) for status in (400, 401, 403, 404, 500, 503)},
    "echo-html-200": lambda srv: srv.add_fault(
        "body", body=f"<p>Bearer {srv.token}</p>", content_type="text/html", times=None
    ),
}


@pytest.mark.parametrize("wire", ["sync", "async"])
@pytest.mark.parametrize("failure", FAILURES)
def test_token_not_in_error(failure: str, wire: str, token_server: FakeLakeSail) -> None:
    token = token_server.token
    FAILURES[failure](token_server)
    with pytest.raises(LakeSailError, match="got no answer" if failure == "refused" else None) as caught:
        call(wire)
    assert_not_in_exception(token, caught.value)


def test_token_echoed_not_in_trigger_event(token_server: FakeLakeSail) -> None:
    """The trigger's failed event (stored and logged by Airflow) does not carry an echoed token."""
    body = json.dumps({"message": f"bad key {token_server.token}"})
    token_server.add_fault("status", status=401, body=body, times=None)
    trigger = LakeSailSavepointTrigger(
        workspace_id="WS1", session_id="SESS1", job_id="JOB1", deadline=time.time() + 5, poll_interval=0.1
    )

    async def events() -> list[Any]:
        try:
            return [event.payload async for event in trigger.run()]
        finally:
            await aclose_async_clients()

    (event,) = asyncio.run(events())
    assert event["status"] == "failed"
    assert token_server.token not in json.dumps(event)


def test_token_not_in_reprs(token_server: FakeLakeSail) -> None:
    """The reprs of the hook (before and after its first call, which masks the token), its settings,
    session and auth, and of the trigger hide the token."""
    token = token_server.token
    hook = LakeSailHook()
    assert token not in repr(hook)
    hook.list_session_job_savepoints(*IDS)
    assert token not in redact(f"x {token}")
    session = hook.get_conn()
    shown = [repr(hook), str(hook), repr(vars(hook)), repr(hook.settings), str(hook.settings)]
    shown += [repr(session.auth), repr(session.headers), repr(vars(session)), repr(_BearerAuth(token))]
    trigger = LakeSailSavepointTrigger(
        workspace_id="WS1", session_id="SESS1", job_id="JOB1", deadline=time.time() + 60, trigger_nonce="n-1"
    )
    shown += [repr(trigger), json.dumps(trigger.serialize())]
    for text in shown:
        assert token not in text, text
    assert hook.settings.authorization == f"Bearer {token}"


def _db_rows_with(db_dir: str, needle: str) -> list[str]:
    """Every row of every table of the metadata DB that contains ``needle``, as text."""
    found = []
    with sqlite3.connect(f"{db_dir}/airflow.db") as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                text = repr(row)
                if needle in text or needle.encode() in b"".join(v for v in row if isinstance(v, bytes)):
                    found.append(f"{table}: {text[:200]}")
    return found


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
def test_dag_run_never_shows_token(
    mode: str,
    airflow_db: str,
    token_server: FakeLakeSail,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A full run (with retried faults, DEBUG on our loggers, Airflow's masking switched off so it
    cannot hide anything): the token shows only in the control task's deliberate log line, and
    nowhere in XCom, rendered fields or any table of the metadata DB."""
    token, secrets_dags = token_server.token, load_module("faults_secrets.py")
    for cls in masker_classes():
        monkeypatch.setattr(cls, "add_mask", lambda self, *args, **kwargs: None)
    for prefix in ("", "airflow.task.hooks.", "airflow.task.operators."):
        caplog.set_level(logging.DEBUG, logger=f"{prefix}airflow_provider_flinksp")
    token_server.add_fault("status", status=503, times=2, method="GET")
    token_server.add_fault("reset", times=1, method="GET")

    run = secrets_dags.DAGS[f"faults_secrets_{mode}"].test()
    out, err = capfd.readouterr()
    assert run.state == "success"
    assert [str(r.status) for r in token_server.requests].count("503") == 2

    captured = "\n".join((out, err, caplog.text))
    marker = secrets_dags.CONTROL_MARKER
    assert f"{marker}{token}" in captured, "the control line is missing: the capture saw no task logs"
    assert "Attempt 1 of 5 failed" in captured, "the hook's retry warnings were not captured"
    leaks = [
        m.start()
        for m in re.finditer(re.escape(token), captured)
        if not captured[: m.start()].endswith(marker)
    ]
    assert leaks == [], [captured[max(0, i - 200) : i + 50] for i in leaks]

    with sqlite3.connect(f"{airflow_db}/airflow.db") as db:  # XCom and rendered fields are DB rows
        query = "SELECT task_id FROM rendered_task_instance_fields WHERE dag_id = ? AND run_id = ?"
        rendered = {task_id for (task_id,) in db.execute(query, (run.dag_id, run.run_id))}
    assert rendered >= {"trigger", "gate", "latest"}
    assert _db_rows_with(airflow_db, token) == []
