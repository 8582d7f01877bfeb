"""The async HTTP/1.1 client (:mod:`airflow_provider_flinksp._http11`) against raw loopback servers.

Framing (Content-Length, chunked, read-to-close), keep-alive reuse and when a connection is dropped,
the body cap, one deadline per request, failures sorted into the hook's "not sent" / "maybe sent" /
"fatal" kinds, a stale keep-alive connection retried once for GET only, the pool cap (FIFO), TLS
contexts for ``verify`` True / False / a CA bundle, and the httpx fallback behind a proxy.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import ssl
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flinksp import _http11, hooks
from airflow_provider_flinksp._http11 import HttpFailure, Pool
from airflow_provider_flinksp.exceptions import LakeSailError
from airflow_provider_flinksp.hooks import _FATAL, _MAYBE_SENT, _NOT_SENT, ConnectionSettings, LakeSailHook

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]
HEADERS = b"Authorization: Bearer t\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"


class Server:
    """A loopback server running ``handler(reader, writer, connection_number)`` per connection."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.connections = 0
        self.open = 0
        self.max_open = 0
        self.server: asyncio.AbstractServer | None = None

    async def __aenter__(self) -> Server:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            self.open += 1
            self.max_open = max(self.max_open, self.open)
            try:
                await self.handler(reader, writer, self.connections)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                self.open -= 1
                writer.close()

        self.server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=self.tls)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{port}"


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request head (the prototype sends no bodies but ``Content-Length: 0``)."""
    return await reader.readuntil(b"\r\n\r\n")


def answering(*responses: bytes, then_close: bool = False) -> Handler:
    """Answer each request on a connection with the next response."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
        for response in responses:
            await read_request(reader)
            writer.write(response)
            await writer.drain()
        if not then_close:
            await reader.read()  # until the client closes

    return handler


async def get(pool: Pool, method: str = "GET", timeout: float = 5.0) -> _http11.Response:
    return await pool.request(method, "/x", HEADERS, timeout)


async def expect_failure(call: Awaitable[Any], kind: str, words: str) -> None:
    try:
        await call
    except HttpFailure as exc:
        if exc.kind != kind or words not in exc.reason:
            raise AssertionError(f"expected {kind}: {words}; got {exc.kind}: {exc.reason}") from None
    else:
        raise AssertionError(f"expected a failure ({kind}: {words})")


# -- the checks ------------------------------------------------------------------------------


async def _content_length_and_keep_alive() -> None:
    async with Server(answering(OK, OK)) as srv:
        pool = Pool(srv.url, True)
        assert (await get(pool)).body == b"{}"
        assert (await get(pool)).body == b"{}"
        assert srv.connections == 1


async def _chunked_with_extension_and_trailer() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4;name=value\r\n{"a"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\nX-Trailer: yes\r\n\r\n'
    )
    async with Server(answering(chunked, OK)) as srv:
        pool = Pool(srv.url, True)
        assert (await get(pool)).body == b'{"a": 1}'
        assert (await get(pool)).body == b"{}"
        assert srv.connections == 1


async def _close_delimited_body_not_reused() -> None:
    body = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * 100_000
    async with Server(answering(body, then_close=True)) as srv:
        pool = Pool(srv.url, True)
        assert (await get(pool)).body == b"x" * 100_000
        assert (await get(pool)).body == b"x" * 100_000
        assert srv.connections == 2


async def _http10_not_reused() -> None:
    async with Server(answering(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", then_close=True)) as srv:
        pool = Pool(srv.url, True)
        await get(pool)
        await get(pool)
        assert srv.connections == 2


async def _oversized_bodies_refused() -> None:
    import airflow_provider_flinksp.hooks as hooks

    saved = hooks.MAX_BODY_BYTES
    hooks.MAX_BODY_BYTES = 1000
    try:
        declared = b"HTTP/1.1 200 OK\r\nContent-Length: 50000000\r\n\r\n{}"
        chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"200\r\n" + b"x" * 512 + b"\r\n"
        chunked += b"200\r\n" + b"x" * 512 + b"\r\n0\r\n\r\n"
        for response in (declared, chunked):

            async def first_oversized(
                reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int, response: bytes = response
            ) -> None:
                await answering(response if n == 1 else OK)(reader, writer, n)

            async with Server(first_oversized) as srv:
                pool = Pool(srv.url, True)
                assert (await get(pool)).body is None
                assert (await get(pool)).body == b"{}"  # on a new connection: the old one was dropped
                assert srv.connections == 2
    finally:
        hooks.MAX_BODY_BYTES = saved


async def _no_answer_times_out() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
        await reader.read()

    async with Server(silent) as srv:
        started = time.monotonic()
        await expect_failure(get(Pool(srv.url, True), timeout=0.3), _MAYBE_SENT, "timed out")
        assert 0.25 < time.monotonic() - started < 1.0


async def _refused_port_not_sent() -> None:
    async with Server(answering(OK)) as srv:
        url = srv.url
    await asyncio.sleep(0.05)
    for method in ("GET", "POST"):
        await expect_failure(get(Pool(url, True), method), _NOT_SENT, "could not connect")


async def _stale_connection_get_retried_post_reported() -> None:
    async def close_second(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        writer.write(OK)
        await writer.drain()
        if n == 1:
            await read_request(reader)  # the next request arrives, and the server drops the connection
            return
        await reader.read()

    async with Server(close_second) as srv:
        pool = Pool(srv.url, True)
        await get(pool)
        assert (await get(pool)).body == b"{}"  # a GET goes again on a new connection
        assert srv.connections == 2
    async with Server(close_second) as srv:
        pool = Pool(srv.url, True)
        await get(pool, "POST")
        await expect_failure(get(pool, "POST"), _MAYBE_SENT, "connection broken")


async def _closed_idle_connection_not_reused() -> None:
    async with Server(answering(OK, then_close=True)) as srv:
        pool = Pool(srv.url, True)
        await get(pool)
        await asyncio.sleep(0.05)  # the server's FIN arrives while the connection is idle
        assert (await get(pool, "POST")).body == b"{}"
        assert srv.connections == 2


async def _broken_body_maybe_sent() -> None:
    partial = b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"pend'
    async with Server(answering(partial, then_close=True)) as srv:
        await expect_failure(get(Pool(srv.url, True)), _MAYBE_SENT, "connection broken")


async def _malformed_status_line() -> None:
    async with Server(answering(b"HTTX/9 banana\r\n\r\n", then_close=True)) as srv:
        await expect_failure(get(Pool(srv.url, True)), _MAYBE_SENT, "malformed")


async def _interim_100_and_204() -> None:
    interim = b"HTTP/1.1 100 Continue\r\n\r\n" + OK
    no_content = b"HTTP/1.1 204 No Content\r\n\r\n"
    async with Server(answering(interim, no_content, OK)) as srv:
        pool = Pool(srv.url, True)
        assert (await get(pool)).body == b"{}"
        response = await get(pool)
        assert (response.status, response.body) == (204, b"")
        assert (await get(pool)).status == 200
        assert srv.connections == 1


async def _headers_lower_cased() -> None:
    answer = b"HTTP/1.1 429 Too Many\r\nRetry-After: 7\r\nLocation: /y\r\nContent-Length: 0\r\n\r\n"
    async with Server(answering(answer)) as srv:
        response = await get(Pool(srv.url, True))
        assert (response.status, response.headers["retry-after"], response.headers["location"]) == (
            429,
            "7",
            "/y",
        )


async def _pool_limit_and_pool_timeout() -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
        while True:
            await read_request(reader)
            await asyncio.sleep(0.05)
            writer.write(OK)
            await writer.drain()

    saved = _http11.MAX_CONNECTIONS
    _http11.MAX_CONNECTIONS = 3
    try:
        async with Server(slow) as srv:
            pool = Pool(srv.url, True)
            await asyncio.gather(*(get(pool) for _ in range(12)))
            assert srv.max_open <= 3, srv.max_open
            assert srv.connections == 3, srv.connections
            waiting = [get(pool, timeout=0.08) for _ in range(12)]
            results = await asyncio.gather(*waiting, return_exceptions=True)
            failures = [r for r in results if isinstance(r, HttpFailure)]
            queued = [f for f in failures if f.kind == _NOT_SENT and "free connection" in f.reason]
            assert queued, results  # the ones that never got a connection are "not sent"
            assert all(f in queued or f.kind == _MAYBE_SENT for f in failures), failures
    finally:
        _http11.MAX_CONNECTIONS = saved


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


async def _tls_verify_settings() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = _self_signed(Path(tmp))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        async with Server(answering(OK, OK), tls=context) as srv:
            assert (await get(Pool(srv.url, str(cert)))).body == b"{}"  # the CA bundle named by verify
        async with Server(answering(OK), tls=context) as srv:
            assert (await get(Pool(srv.url, False))).body == b"{}"  # no verification
        async with Server(answering(OK), tls=context) as srv:  # certifi does not know this one
            await expect_failure(get(Pool(srv.url, True)), _FATAL, "TLS error")


def run(check: Coroutine[Any, Any, None]) -> None:
    """Run one check in a fresh event loop, with a 20 s cap so a hang fails rather than blocks."""
    asyncio.run(asyncio.wait_for(check, 20))


def test_content_length_and_keep_alive() -> None:
    run(_content_length_and_keep_alive())


def test_chunked_with_extension_and_trailer() -> None:
    run(_chunked_with_extension_and_trailer())


def test_close_delimited_body_not_reused() -> None:
    run(_close_delimited_body_not_reused())


def test_http10_not_reused() -> None:
    run(_http10_not_reused())


def test_oversized_bodies_refused() -> None:
    run(_oversized_bodies_refused())


def test_no_answer_times_out() -> None:
    run(_no_answer_times_out())


def test_refused_port_not_sent() -> None:
    run(_refused_port_not_sent())


def test_stale_connection_get_retried_post_reported() -> None:
    run(_stale_connection_get_retried_post_reported())


def test_closed_idle_connection_not_reused() -> None:
    run(_closed_idle_connection_not_reused())


def test_broken_body_maybe_sent() -> None:
    run(_broken_body_maybe_sent())


def test_malformed_status_line() -> None:
    run(_malformed_status_line())


def test_interim_100_and_204() -> None:
    run(_interim_100_and_204())


def test_headers_lower_cased() -> None:
    run(_headers_lower_cased())


def test_pool_limit_and_pool_timeout() -> None:
    run(_pool_limit_and_pool_timeout())


def test_tls_verify_settings() -> None:
    run(_tls_verify_settings())


# -- beyond the prototype's checks -----------------------------------------------------------------


async def _stale_get_retried_once_only() -> None:
    async def serve_once_then_drop(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int
    ) -> None:
        if n == 1:
            await read_request(reader)
            writer.write(OK)
            await writer.drain()
        await read_request(reader)  # every later request: dropped unanswered

    async with Server(serve_once_then_drop) as srv:
        pool = Pool(srv.url, True)
        await get(pool)
        await expect_failure(get(pool), _MAYBE_SENT, "connection broken")
        assert srv.connections == 2  # the kept-alive one, then exactly one fresh try


def test_stale_get_retried_once_only() -> None:
    run(_stale_get_retried_once_only())


async def _reset_is_maybe_sent() -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
        await read_request(reader)
        writer.transport.abort()  # RST, not FIN

    async with Server(reset) as srv:
        for method in ("GET", "POST"):
            await expect_failure(get(Pool(srv.url, True), method), _MAYBE_SENT, "connection broken")


def test_reset_is_maybe_sent() -> None:
    run(_reset_is_maybe_sent())


async def _deadline_covers_a_slow_trickle() -> None:
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        for _ in range(100):  # a byte every 50 ms: each read is quick, the whole is not
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.05)

    async with Server(trickle) as srv:
        started = time.monotonic()
        await expect_failure(get(Pool(srv.url, True), timeout=0.3), _MAYBE_SENT, "timed out")
        assert time.monotonic() - started < 1.0  # one deadline for the request, not per read


def test_deadline_covers_a_slow_trickle() -> None:
    run(_deadline_covers_a_slow_trickle())


async def _pool_serves_waiters_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
        while True:
            head = await read_request(reader)
            order.append(head.split(b" ")[1])
            await asyncio.sleep(0.01)
            writer.write(OK)
            await writer.drain()

    monkeypatch.setattr(_http11, "MAX_CONNECTIONS", 1)
    async with Server(serve) as srv:
        pool = Pool(srv.url, True)
        paths = [f"/r{i}" for i in range(8)]
        await asyncio.gather(*(pool.request("GET", path, HEADERS, 5.0) for path in paths))
        assert order == [path.encode() for path in paths]  # first come, first served
        assert srv.connections == 1


def test_pool_serves_waiters_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    run(_pool_serves_waiters_in_order(monkeypatch))


async def _request_line_and_headers() -> None:
    heads: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
        while True:
            heads.append(await read_request(reader))
            writer.write(OK)
            await writer.drain()

    async with Server(serve) as srv:
        pool = Pool(srv.url + "/prefix", True)
        block = pool.header_block("tok")
        await pool.request("GET", "/a", block, 5.0)
        await pool.request("POST", "/b", block, 5.0)
        host = srv.url.split("//")[1]
    get_lines, post_lines = (head.decode("latin-1").split("\r\n") for head in heads)
    assert get_lines[0] == "GET /prefix/a HTTP/1.1"
    assert post_lines[0] == "POST /prefix/b HTTP/1.1"
    assert f"Host: {host}" in get_lines
    assert "Authorization: Bearer tok" in get_lines
    assert "Accept: application/json" in get_lines
    assert not any(line.lower().startswith("content-length") for line in get_lines)
    assert "Content-Length: 0" in post_lines


def test_request_line_and_headers() -> None:
    run(_request_line_and_headers())


@pytest.mark.parametrize("token", ["a\r\nX-Evil: 1", "a\nb", "a\0b", "tök€n"])
def test_token_that_cannot_be_a_header_is_refused_without_showing_it(token: str) -> None:
    with pytest.raises(LakeSailError) as caught:
        Pool("http://127.0.0.1:9", True).header_block(token)
    assert token not in str(caught.value)


def test_tls_contexts_for_each_verify_setting(tmp_path: Path) -> None:
    cert, _key = _self_signed(tmp_path)
    verified = _http11._ssl_context(True)
    assert (verified.verify_mode, verified.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert verified.cert_store_stats()["x509_ca"] > 0  # certifi's CAs
    unverified = _http11._ssl_context(False)
    assert (unverified.verify_mode, unverified.check_hostname) == (ssl.CERT_NONE, False)
    bundle = _http11._ssl_context(str(cert))
    assert (bundle.verify_mode, bundle.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert bundle.cert_store_stats()["x509_ca"] == 1  # only the named bundle


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "SSL_CERT_DIR"])
def test_ssl_cert_environment_honoured_for_verify_true(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """As httpx did: with ``verify`` True, SSL_CERT_FILE / SSL_CERT_DIR replace certifi's CAs."""
    cert, key = _self_signed(tmp_path)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    if variable == "SSL_CERT_FILE":
        monkeypatch.setenv(variable, str(cert))
    else:
        (tmp_path / "dir").mkdir()  # empty: trusts nothing
        monkeypatch.setenv(variable, str(tmp_path / "dir"))
    context = _http11._ssl_context(True)
    if variable == "SSL_CERT_FILE":
        assert context.cert_store_stats()["x509_ca"] == 1  # the named file, not certifi's ~150
    else:
        assert context.cert_store_stats()["x509_ca"] == 0  # a capath loads lazily; certifi not loaded
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)

    async def go() -> None:
        async with Server(answering(OK), tls=server_context) as srv:
            if variable == "SSL_CERT_FILE":
                assert (await get(Pool(srv.url, True))).body == b"{}"
            else:  # an empty directory trusts nothing
                await expect_failure(get(Pool(srv.url, True)), _FATAL, "TLS error")

    run(go())


def test_negative_chunk_size_is_malformed() -> None:
    async def go() -> None:
        answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n0\r\n\r\n"
        async with Server(answering(answer, then_close=True)) as srv:
            await expect_failure(get(Pool(srv.url, True)), _MAYBE_SENT, "malformed")

    run(go())


@pytest.mark.parametrize("content", [None, b"not a certificate\n"])
def test_unreadable_ca_bundle_is_a_lakesail_error(tmp_path: Path, content: bytes | None) -> None:
    bundle = tmp_path / "ca.pem"
    if content is not None:
        bundle.write_bytes(content)

    async def go() -> None:
        with pytest.raises(LakeSailError, match="CA bundle") as caught:
            _http11.pool_for("https://lakesail.test", str(bundle))
        assert "verify" in str(caught.value)

    run(go())


def test_plain_http_builds_no_tls_context(tmp_path: Path) -> None:
    async def go() -> None:
        pool = _http11.pool_for("http://lakesail.test", str(tmp_path / "missing.pem"))
        assert pool is not None
        assert pool.ssl is None

    run(go())


def test_one_pool_per_loop_and_origin() -> None:
    async def go() -> tuple[Pool | None, ...]:
        first = _http11.pool_for("http://a.test", True)
        assert _http11.pool_for("http://a.test", True) is first
        assert _http11.pool_for("http://b.test", True) is not first
        await _http11.aclose_pools()
        return (first,)

    (one,) = asyncio.run(go())
    (two,) = asyncio.run(go())
    assert one is not two
    assert one is not None
    assert one.closed


def test_proxy_configured_falls_back_to_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    """With HTTP_PROXY set, pool_for says None and the hook's request goes through the proxy (httpx)."""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    lines: list[bytes] = []
    body = json.dumps({"pending": [], "completed": []}).encode()

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
        head = await read_request(reader)
        lines.append(head.split(b"\r\n")[0])
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        await reader.read()

    async def go() -> None:
        async with Server(proxy) as srv:
            monkeypatch.setenv("HTTP_PROXY", srv.url)
            try:
                assert _http11.pool_for("http://lakesail.test", True) is None
                hook = LakeSailHook(retry_limit=1)
                hook._settings = ConnectionSettings(base_url="http://lakesail.test", token="proxy-token")
                result = await hook.a_list_session_job_savepoints("WS1", "SESS1", "JOB1")
                assert result.completed == []
            finally:
                await hooks.aclose_async_clients()

    run(go())
    assert lines == [
        b"GET http://lakesail.test/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs/JOB1/savepoints HTTP/1.1"
    ]


def test_all_proxy_counts_as_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALL_PROXY", "http://proxy.invalid:3128")

    async def go() -> None:
        assert _http11.pool_for("https://lakesail.test", False) is None

    run(go())


def test_no_proxy_bypass_keeps_the_own_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "lakesail.test")

    async def go() -> None:
        assert isinstance(_http11.pool_for("https://lakesail.test", False), Pool)
        assert _http11.pool_for("https://other.test", False) is None

    run(go())


def test_sensors_and_operators_do_not_import_the_client() -> None:
    """DAG parsing stays lean: the provider itself pulls in neither this client, httpx nor requests."""
    import subprocess
    import sys

    code = (
        "import sys, airflow; base = set(sys.modules)\n"
        "import airflow_provider_flinksp.sensors, airflow_provider_flinksp.operators\n"
        "names = ('airflow_provider_flinksp._http11', 'httpx', 'requests')\n"
        "print([n for n in names if n in sys.modules and n not in base])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
