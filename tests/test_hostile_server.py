"""The hostile-server suite (issue 9): the hook's public API on both paths (``sync``: requests,
``async``: the ``a_`` twins under ``asyncio.run``) against a loopback server that misbehaves as an
attacker or a broken gateway would. Good answers name their request, so a swapped answer is caught."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import gzip
import importlib
import json
import logging
import os
import random
import re
import time
import traceback
import tracemalloc
import uuid
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests.utils

from airflow_provider_flinksp.core.models import Savepoint, SavepointList
from airflow_provider_flinksp.exceptions import (
    LakeSailApiError,
    LakeSailConnectionError,
    LakeSailError,
    LakeSailResponseError,
)
from airflow_provider_flinksp.hooks import LakeSailHook
from tests.hostile import (
    Conn,
    HostileServer,
    Request,
    Script,
    forged_answer,
    http_response,
    proxy_script,
    real_answer,
    real_body,
)
from tests.hostile_fuzz import fuzz_response
from tests.hostile_tls import TlsFiles, make_tls

pytestmark = pytest.mark.hostile

WS, SESS = "WS1", "SESS1"
#: op -> (HTTP method, hook method)
OPS = {"list": ("GET", "list_session_job_savepoints"), "trigger": ("POST", "trigger_session_job_savepoint")}
_PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
_CA_ENV = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")


def new_token() -> str:
    """A 41-character token no other test has registered with Airflow's masker."""
    return f"lsk-{uuid.uuid4().hex}{uuid.uuid4().hex[:5]}"


@pytest.fixture(params=["sync", "async"])
def path(request: pytest.FixtureRequest) -> str:  # sync: requests, async: aiohttp
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., HostileServer]]:
    """Start a hostile server (stopped at the end of the test) and point ``lakesail_default`` at it."""
    for name in _PROXY_ENV + _CA_ENV:  # no proxy or CA setting of the machine running the tests leaks in
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    started: list[HostileServer] = []

    def start(script: Script = Conn.serve, tls: Any = None, token: str = "", **extra: Any) -> HostileServer:
        started.append(server := HostileServer(script, tls=tls))
        extra = {"retry_delay": 0.01, **extra}
        conn = {"conn_type": "lakesail", "host": server.url, "password": token or new_token(), "extra": extra}
        monkeypatch.setenv("AIRFLOW_CONN_LAKESAIL_DEFAULT", json.dumps(conn))
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("tls"))


# -- driving the hook -----------------------------------------------------------------------------
@dataclass(repr=False)
class Outcome:
    """What one hook call gave: a value or an exception (any), and how long it took."""

    value: Any = None
    error: BaseException | None = None
    seconds: float = 0.0

    @property
    def marker(self) -> str | None:
        """The answer's marker (a savepoint location), if any."""
        if isinstance(self.value, SavepointList):
            return self.value.completed[-1].location if self.value.completed else None
        return self.value.location if isinstance(self.value, Savepoint) else None

    def __repr__(self) -> str:
        if self.error is not None:
            return f"{type(self.error).__name__}: {str(self.error)[:300]} after {self.seconds:.2f} s"
        return f"result {self.marker or repr(self.value)[:200]} after {self.seconds:.2f} s"


class Wire:
    """One hook, called through the sync or the async path; calls return an :class:`Outcome`."""

    def __init__(self, path: str, *, retry_limit: int = 2, timeout: float = 2.0) -> None:
        self.path = path
        self.hook = LakeSailHook(retry_limit=retry_limit, timeout=timeout)

    async def call(self, op: str, job: str) -> Outcome:
        name, start = OPS[op][1], time.monotonic()
        try:
            if self.path == "sync":
                value = getattr(self.hook, name)(WS, SESS, job)
            else:
                value = await getattr(self.hook, f"a_{name}")(WS, SESS, job)
        except Exception as exc:  # anything: the tests judge the type
            return Outcome(error=exc, seconds=time.monotonic() - start)
        return Outcome(value=value, seconds=time.monotonic() - start)


def run(path: str, scenario: Callable[[Wire], Awaitable[Any]], **hook_kwargs: Any) -> Any:
    """Run a scenario with one hook in a fresh ``asyncio.run`` (no clean-up call after it)."""
    return asyncio.run(scenario(Wire(path, **hook_kwargs)))


def call_once(path: str, job: str = "J1", **hook_kwargs: Any) -> Outcome:
    """One list call in a fresh ``asyncio.run``."""
    return run(path, lambda wire: wire.call("list", job), **hook_kwargs)  # type: ignore[no-any-return]


def assert_own(outcome: Outcome, job: str, what: str = "") -> None:
    """The call got the answer the server sent to it."""
    assert outcome.error is None, f"{what}: expected {job}'s own answer, got {outcome}"
    assert (outcome.marker or "").startswith(f"s3://real/{job}/"), f"{what}: got another answer: {outcome}"


def assert_error(outcome: Outcome, kind: type[BaseException] = LakeSailError) -> None:
    assert isinstance(outcome.error, kind), f"expected a {kind.__name__}, got {outcome}"


def first_then(first: Callable[[Conn, Request], object], close: bool = False) -> Script:
    """The first request of all gets ``first`` (then its connection closes if ``close``), others good ones."""

    def script(conn: Conn) -> None:
        while (request := conn.read_request()) is not None:
            if request.seq > 1:
                conn.send(real_answer(request))
                continue
            first(conn, request)
            if close:
                return conn.close()

    return script


# -- a response or a close that is not where it should be ------------------------------------------
def _answer_then_408(conn: Conn, request: Request) -> None:
    conn.send(real_answer(request))
    time.sleep(0.1)
    conn.send(http_response(408, b"", [("Connection", "close")]))


def _conflicting_lengths(conn: Conn, request: Request) -> None:
    body = real_body(request)[1]
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nContent-Length: {len(body) + len(_FORGED)}\r\n"
    conn.send(f"{head}Content-Type: application/json\r\n\r\n".encode() + body + _FORGED)


_FORGED = forged_answer("J2")  # a whole answer for the next call's job, sent with the first call's
_NO_CONTENT = b"HTTP/1.1 204 No Content\r\n\r\n" + _FORGED


#: name -> (the script, the pause before the next call, the hook's retry_limit, what the first call
#: gets: its own answer (None) or this error)
NEXT_CASES: dict[str, tuple[Script, float, int, type[LakeSailError] | None]] = {
    "unsolicited-408-on-idle": (first_then(_answer_then_408, close=True), 0.4, 2, None),
    "fin-after-keep-alive": (first_then(lambda c, r: c.send(real_answer(r)), close=True), 0.3, 3, None),
    "appended-response": (first_then(lambda c, r: c.send(real_answer(r) + _FORGED)), 0, 2, None),
    "204-with-body": (first_then(lambda c, r: c.send(_NO_CONTENT)), 0, 2, LakeSailResponseError),
    "two-content-lengths": (first_then(_conflicting_lengths), 0, 2, LakeSailError),
}


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("case", NEXT_CASES)
def test_next_call_gets_its_own_answer(path: str, case: str, op: str, hostile: Any) -> None:
    """After a 408 sent on an idle kept-alive connection, a FIN right after a keep-alive response, or
    bytes past a response's framing, the next call gets its own answer and a POST arrives once."""
    script, pause, retry_limit, first_error = NEXT_CASES[case]
    server = hostile(script)

    async def scenario(wire: Wire) -> tuple[Outcome, Outcome]:
        first = await wire.call("list", "J1")
        await asyncio.sleep(pause)
        return first, await wire.call(op, "J2")

    first, second = run(path, scenario, retry_limit=retry_limit)
    if first_error is None:
        assert_own(first, "J1", "the first call")
    else:
        assert_error(first, first_error)
    assert_own(second, "J2", f"the {op} after it")
    seen = len(server.received(OPS[op][0], "J2"))
    assert seen == 1 if op == "trigger" else seen >= 1, f"the server saw the request {seen} times"


# -- time -------------------------------------------------------------------------------------------
_OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
#: a body that ends at the close: JSON so far, but not when whole
_CUT = _OK + b'Connection: close\r\n\r\n{"pending": [], "completed": []}'
#: name -> (sent at once, then sent a byte every 0.25 s, then sent, the error the call ends in)
SLOW_CASES: dict[str, tuple[bytes, bytes, bytes, type[LakeSailError]]] = {
    "trickled-head": (b"", _OK + (b"X-Pad: " + b"p" * 40 + b"\r\n") * 4, b"", LakeSailConnectionError),
    "trickled-body": (_OK + b"Content-Length: 200\r\n\r\n", b" " * 200, b"", LakeSailConnectionError),
    "close-delimited-body-cut": (_CUT, b" " * 6, b"not JSON", LakeSailError),
}


@pytest.mark.parametrize("case", SLOW_CASES)
def test_trickle_meets_the_deadline(path: str, case: str, hostile: Any) -> None:
    """With timeout=1 a trickling answer ends in an error in about 1 s (a deadline for the whole
    request); a close-delimited body still arriving at the deadline is not parsed as it stands."""
    sent, trickled, then, kind = SLOW_CASES[case]
    hostile()  # a good call first: a fresh process imports aiohttp and loads CAs outside any deadline
    assert_own(call_once(path), "J1", "the warm-up call")
    hostile(
        first_then(lambda conn, req: conn.send(sent) and conn.trickle(trickled) and conn.send(then), True)
    )
    outcome = call_once(path, retry_limit=1, timeout=1.0)
    assert outcome.seconds < 2.0, f"timeout=1 but the call took {outcome.seconds:.2f} s ({outcome})"
    assert_error(outcome, kind)


def test_two_jobs_polled_concurrently_get_their_own_lists(path: str, hostile: Any) -> None:
    """J1 and J2 polled at once (one loop; sync: two threads), every answer followed by the other's list."""
    rng = random.Random(9)

    def answer(req: Request) -> bytes:
        time.sleep(rng.uniform(0, 0.01))
        return real_answer(req) + forged_answer("J2" if req.job == "J1" else "J1")

    hostile(lambda conn: conn.serve(answer))

    async def poll(job: str) -> list[Outcome]:
        wire, outcomes = Wire(path), []
        for _ in range(6):
            outcomes.append(await wire.call("list", job))
            await asyncio.sleep(0.005)
        return outcomes

    async def both() -> list[list[Outcome]]:
        polls = [poll("J1"), poll("J2")]
        if path == "sync":  # each poller in its own thread, with its own loop
            polls = [asyncio.to_thread(asyncio.run, coroutine) for coroutine in polls]
        return await asyncio.gather(*polls)

    for job, outcomes in zip(["J1", "J2"], asyncio.run(both()), strict=True):
        for i, outcome in enumerate(outcomes):
            assert_own(outcome, job, f"{job} poll {i}")


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_forty_asyncio_runs_leave_no_descriptors(path: str, hostile: Any) -> None:
    """40 ``asyncio.run()`` in a row, each with a new hook and one call: no growth in open files."""
    hostile()
    for i in range(2):  # warm-up: lazy imports, first connection lookups
        assert_own(call_once(path, job=f"W{i}"), f"W{i}")

    def settled(limit: int) -> int:
        end = time.monotonic() + 1.5
        while True:
            gc.collect()
            if (count := len(os.listdir("/proc/self/fd"))) <= limit or time.monotonic() > end:
                return count
            time.sleep(0.05)

    base = settled(0)
    for i in range(40):
        assert_own(call_once(path, job=f"J{i}"), f"J{i}", f"run {i}")
    grown = settled(base + 4) - base
    assert grown <= 4, f"{grown} more open file descriptors after 40 runs"


# -- bodies ---------------------------------------------------------------------------------------
@functools.cache
def _gzip_bomb() -> bytes:
    """128 MiB of zeros, gzip-compressed to about 128 KiB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    return b"".join([compressor.compress(chunk) for _ in range(128)] + [compressor.flush()])


def _gzipped(req: Request) -> bytes:
    status, body = real_body(req)
    body = _gzip_bomb() if req.job == "BOMB" else gzip.compress(body)
    return http_response(status, body, [("Content-Type", "application/json"), ("Content-Encoding", "gzip")])


def test_gzip_decoded_and_gzip_bomb_refused(path: str, hostile: Any) -> None:
    """A gzip body is decoded; 128 KiB of gzip that expands to 128 MiB is a LakeSailResponseError
    naming the 8 MiB cap, with less than 30 MiB allocated on the way."""
    _gzip_bomb()
    hostile(lambda conn: conn.serve(_gzipped))

    async def scenario(wire: Wire) -> tuple[Outcome, Outcome, Outcome, int]:
        gzipped = await wire.call("list", "J0")
        gc.collect()
        tracemalloc.start()
        try:
            bomb = await wire.call("list", "BOMB")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        return gzipped, bomb, await wire.call("list", "J1"), peak

    gzipped, bomb, after, peak = run(path, scenario, retry_limit=1, timeout=10.0)
    assert_own(gzipped, "J0", "the gzip body")
    assert_error(bomb, LakeSailResponseError)
    assert re.search(r"8388608|8(\.0)? ?MiB", str(bomb.error)), f"the error does not name the cap: {bomb}"
    assert peak < 30 * 2**20, f"{peak / 2**20:.0f} MiB allocated while refusing the bomb"
    assert_own(after, "J1", "the call after the bomb")


def _many(token: str) -> str:
    """The token echoed at many offsets, so that any cut in the first ~10 KB falls inside one."""
    return "".join(f"{'.' * (k % 47)}Bearer {token} " for k in range(0, 1400, 7))


TEXT, JSON = "text/plain", "application/json"
#: name -> (status, content type, the body for a token: text, or an object sent as JSON)
ECHOES: dict[str, tuple[int, str, Callable[[str], Any]]] = {
    "header-echo-text": (200, TEXT, lambda t: f"Authorization: Bearer {t}\r\nAccept: */*\r\n"),
    "prefix-30-echo": (200, TEXT, lambda t: f"Authorization: Bearer {t[:30]}..."),
    "starts-with-token": (200, TEXT, lambda t: f"{t} is not a valid request"),
    "html-echo": (200, "text/html", lambda t: f"<html><body><pre>Authorization: Bearer {t}</pre>"),
    "json-timestamp": (
        200,
        JSON,
        lambda t: {"pending": [], "completed": [{"triggerType": "MANUAL", "triggeredAt": "x" * 30 + t}]},
    ),
    "json-wrong-shape": (200, JSON, lambda t: {"pending": f"Bearer {t}", "echo": [t]}),
    "text-many-offsets": (200, TEXT, _many),
    "401-message-many-offsets": (401, JSON, lambda t: {"message": _many(t)}),
    "503-retried-message": (503, JSON, lambda t: {"message": f"busy, {t}: " + _many(t)}),
    "400-message-5-mb": (400, JSON, lambda t: {"message": "bad request " + "m" * 5_000_000}),
}


_MASKERS = (  # Airflow 3 (the SDK's, the core's), Airflow 2.11
    "airflow.sdk._shared.secrets_masker.secrets_masker",
    "airflow._shared.secrets_masker.secrets_masker",
    "airflow.utils.log.secrets_masker",
)


@pytest.fixture
def no_masking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow's log masker off, so it cannot hide a whole-token leak from the check."""
    found = []
    for name in _MASKERS:
        with contextlib.suppress(ImportError):
            found.append(importlib.import_module(name).SecretsMasker)
    assert found, "no SecretsMasker found"
    for cls in found:
        monkeypatch.setattr(cls, "add_mask", lambda self, *args, **kwargs: None)


def _leaks(token: str, text: str) -> list[str]:
    return sorted({token[i : i + 6] for i in range(len(token) - 5) if token[i : i + 6] in text})


def _exception_text(exc: BaseException) -> str:
    shown = ["".join(traceback.format_exception(exc))]
    seen: BaseException | None = exc
    while seen is not None:
        shown += [str(seen), repr(seen), repr(seen.args), repr(vars(seen))]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(shown)


@pytest.mark.usefixtures("no_masking")
@pytest.mark.parametrize("echo", ECHOES)
def test_echoed_token_not_shown_even_in_part(
    path: str, echo: str, hostile: Any, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """A server echoing the token (whole, in part, at many offsets) or a 5 MB message: no 6 characters of
    it in the exception (text, repr, traceback) or the logs, and an exception text under 1,000 characters."""
    status, ctype, body = ECHOES[echo]
    token = new_token()
    text = body(token) if ctype != JSON else json.dumps(body(token))
    answer = http_response(status, text.encode(), [("Content-Type", ctype)])
    hostile(lambda conn: conn.serve(lambda req: answer), token=token)
    with caplog.at_level(logging.DEBUG):
        outcome = call_once(path, retry_limit=2)
    out, err = capfd.readouterr()
    assert_error(outcome, LakeSailApiError if status >= 400 else LakeSailError)
    assert not (leaked := _leaks(token, _exception_text(outcome.error))), f"{leaked} in the exception"
    assert not (leaked := _leaks(token, "\n".join((caplog.text, out, err)))), f"{leaked} in the logs"
    assert len(str(outcome.error)) < 1000, f"an exception text of {len(str(outcome.error))} characters"
    assert len(repr(outcome.error)) < 1200, f"an exception repr of {len(repr(outcome.error))} characters"


RETRY_AFTERS = {
    "day-overflow": "Fri, 99999999999999999999 Dec 1999 23:59:59 GMT",
    "year-99999": "Fri, 31 Dec 99999 23:59:59 GMT",
    "out-of-range-fields": "Sat, 32 Dec 1999 25:61:61 GMT",
    "huge-offset": "Thu, 01 Jan 1970 00:00:00 +9999",
    "year-1": "Mon, 01 Jan 0001 00:00:00 GMT",
    "past": "Fri, 31 Dec 1999 23:59:59 GMT",
    "no-zone": "Fri, 31 Dec 1999 23:59:59",
    "negative": "-1",
    "fraction": "1.5",
    "nan": "nan",
    "inf": "inf",
    "exponent": "1e400",
    "hex": "0x10",
    "superscript": "\u00b2",
    "blank": " ",
    "10k": "9" * 10 + "a" * 10_000,
}


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("value", RETRY_AFTERS)
def test_garbage_retry_after(path: str, value: str, status: int, hostile: Any) -> None:
    """Any Retry-After: the call is retried (after a wait >= 0) or ends in a LakeSailApiError."""
    headers = [("Content-Type", "application/json"), ("Retry-After", RETRY_AFTERS[value])]
    throttled = http_response(status, b'{"message": "slow down"}', headers)
    hostile(first_then(lambda conn, req: conn.send(throttled)))
    outcome = call_once(path, retry_limit=2)
    if outcome.error is None:
        assert_own(outcome, "J1", "the retry")
    else:
        assert_error(outcome, LakeSailApiError)
        assert getattr(outcome.error, "status_code", None) == status
    assert outcome.seconds < 5, f"waited {outcome.seconds:.1f} s"


# -- transport policy: proxies and CAs --------------------------------------------------------------
#: name -> NO_PROXY (an http origin; the last, an https one)
NO_PROXY = {
    "unset": None,
    "star": "*",
    "ip": "127.0.0.1",
    "cidr": "127.0.0.0/8",
    "localhost": "localhost",
    "ip-and-port": "127.0.0.1:{port}",
    "other-domain": ".example.com",
    "unset-https-origin": None,
}


@pytest.mark.parametrize("no_proxy", NO_PROXY)
def test_proxy_decision_is_requests_decision(
    path: str, no_proxy: str, hostile: Any, tls: TlsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP(S)_PROXY set: each path goes direct exactly when ``requests.utils.should_bypass_proxies``
    says so, for every NO_PROXY form; an https origin is reached through a CONNECT tunnel, and the
    proxy never sees the token."""
    token, https = new_token(), no_proxy.endswith("https-origin")
    proxy = hostile(proxy_script)  # a recording proxy; the origin's hostile() points the connection on
    server = (
        hostile(tls=tls.server_context(), verify=str(tls.ca), token=token) if https else hostile(token=token)
    )
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    if (value := NO_PROXY[no_proxy]) is not None:
        monkeypatch.setenv("NO_PROXY", value.format(port=server.port))
    url = f"{server.url}/api/flink/v1/workspaces/{WS}/sessions/{SESS}/jobs/J1/savepoints"
    direct = requests.utils.should_bypass_proxies(url, no_proxy=None)
    assert_own(call_once(path), "J1")
    want, went = ("direct" if direct else "proxy"), ("proxy" if proxy.received() else "direct")
    assert want == went, f"NO_PROXY={value!r}: requests goes {want}, this path went {went}"
    proxied = [f"127.0.0.1:{server.port}" if https else url]
    assert [r.target for r in proxy.received()] == ([] if direct else proxied)
    for record in proxy.received() if https else []:
        assert record.method == "CONNECT", f"{record.method} {record.target} sent to the proxy"
        assert "authorization" not in record.headers
        assert not _leaks(token, record.head.decode("latin-1")), "token parts sent to the proxy"
    assert server.received("GET", "J1")[0].headers.get("authorization") == f"Bearer {token}"


#: name -> (environment: variable -> file, the connection's verify, whether the server is trusted)
CA_CASES: dict[str, tuple[dict[str, str], Any, bool]] = {
    "REQUESTS_CA_BUNDLE": ({"REQUESTS_CA_BUNDLE": "ca"}, None, True),
    "CURL_CA_BUNDLE": ({"CURL_CA_BUNDLE": "ca"}, None, True),
    "SSL_CERT_FILE": ({"SSL_CERT_FILE": "ca"}, None, True),
    "SSL_CERT_DIR": ({"SSL_CERT_DIR": "ca_dir"}, None, True),
    "verify-ca-path": ({}, "ca", True),
    "verify-false": ({}, False, True),
    "verify-true": ({}, True, False),
    "nothing-set": ({}, None, False),
    "REQUESTS_CA_BUNDLE-other-ca": ({"REQUESTS_CA_BUNDLE": "other_ca"}, None, False),
    "SSL_CERT_FILE-other-ca": ({"SSL_CERT_FILE": "other_ca"}, None, False),
}


@pytest.mark.parametrize("case", CA_CASES)
def test_ca_environment(
    path: str, case: str, hostile: Any, tls: TlsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both paths take the same CA trust: the CA variables, or the connection's ``verify``."""
    env, verify, trusted = CA_CASES[case]
    files = {"ca": str(tls.ca), "ca_dir": str(tls.ca_dir), "other_ca": str(tls.other_ca)}
    for name, which in env.items():
        monkeypatch.setenv(name, files[which])
    hostile(tls=tls.server_context(), **({} if verify is None else {"verify": files.get(verify, verify)}))
    outcome = call_once(path, retry_limit=1)
    if trusted:
        assert_own(outcome, "J1")
    else:
        assert_error(outcome)
        assert re.search(r"(?i)TLS|SSL|certificate", str(outcome.error)), f"not a clear TLS error: {outcome}"


# -- fuzz -----------------------------------------------------------------------------------------
FUZZ_SEED = int(os.environ.get("HOSTILE_FUZZ_SEED", "9"))
FUZZ_CASES, FUZZ_BUDGET = 150, 20.0


def _fuzz_script(conn: Conn) -> None:
    """Case ``F<n>`` gets fuzzed answer n (and the connection may end); any other request a good one."""
    while (request := conn.read_request()) is not None:
        if not (request.job or "").startswith("F"):
            conn.send(real_answer(request))
            continue
        data, end, _ = fuzz_response(FUZZ_SEED, int(request.job[1:]), f"N{request.job[1:]}")  # type: ignore[index]
        conn.send(data)
        if end != "serve":
            return conn.close(reset=end == "reset")


def _judge(fuzzed: Outcome, follow: Outcome, case: int) -> str | None:
    if fuzzed.error is not None and not isinstance(fuzzed.error, LakeSailError):
        return f"escaped {fuzzed}"
    if fuzzed.error is None and fuzzed.marker and not fuzzed.marker.startswith(f"s3://fuzz/F{case}"):
        return f"the fuzzed call got another answer: {fuzzed}"
    if follow.error is not None or not (follow.marker or "").startswith(f"s3://real/N{case}/"):
        return f"the follow-up did not get its own answer: {follow}"
    return None


def test_fuzzed_responses(path: str, hostile: Any) -> None:
    """Seeded random responses over real sockets (one hook, one loop): only LakeSailErrors escape,
    and a well-formed request after each case gets its own answer."""
    server = hostile(_fuzz_script)

    async def scenario(wire: Wire) -> tuple[list[str], int]:
        failures: list[str] = []
        end, done = time.monotonic() + FUZZ_BUDGET, 0
        while done < FUZZ_CASES and time.monotonic() < end:
            fuzzed = await wire.call("list", f"F{done}")
            if problem := _judge(fuzzed, await wire.call("list", f"N{done}"), done):
                seen = [
                    f"{r.job}@conn{r.conn}" for r in server.received() if r.job in (f"F{done}", f"N{done}")
                ]
                described = fuzz_response(FUZZ_SEED, done, "")[2]
                failures.append(f"case {done} [{described}] ({', '.join(seen)}): {problem}")
            done += 1
        return failures, done

    failures, done = run(path, scenario, retry_limit=2, timeout=1.0)
    assert done >= 30, f"only {done} fuzz cases in {FUZZ_BUDGET} s"
    shown = "\n".join(failures[:12])
    assert not failures, f"{len(failures)} of {done} cases (seed {FUZZ_SEED}) failed:\n{shown}"
