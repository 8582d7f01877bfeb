"""Seeded random HTTP responses for the hostile-server fuzz (status lines, headers, framings, garbage,
early closes); one case is a pure function of (seed, case), so a failure can be replayed."""

from __future__ import annotations

import gzip
import random

from tests.hostile import forged_answer, savepoint_list

#: Status lines (the repeats weigh the choice): the well-formed ones, then the broken ones.
_GOOD = (
    [b"HTTP/1.1 200 OK"] * 4
    + [b"HTTP/1.1 202 Accepted", b"HTTP/1.0 200 OK", b"HTTP/1.1 200", b"HTTP/1.1 204 No Content"]
    + [b"HTTP/1.1 304 Not Modified", b"HTTP/1.1 302 Found", b"HTTP/1.1 404 Not Found"]
    + [b"HTTP/1.1 500 Internal Server Error", b"HTTP/1.1 503 Service Unavailable"]
    + [b"HTTP/1.1 429 Too Many Requests", b"HTTP/1.1 299 Odd"]
    + [b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK"]
)
_BAD = [b"HTTP/1.1 2000 Long", b"HTTP/1.1 abc Nope", b"HTTP/2 200", b"ICY 200 OK", b" HTTP/1.1 200 OK"]
_BAD += [b"", b"\x00\xff\xfe\x16\x03\x01"]
#: Framings after which the response is complete however a client reads it (the server may go on).
_COMPLETE = ("cl-exact", "cl-short", "chunked")
_FRAMINGS = (
    _COMPLETE * 2
    + ("cl-long", "cl-conflict", "cl-twice-same", "cl-garbage", "chunked-bad-size", "chunked-no-end")
    + ("chunked-and-cl", "te-unknown", "none")
)
_CL_GARBAGE = ("12abc", "-1", "+5", "0x10", " ", "1e3", "99999999999999999999999", "٣")
_RETRY_AFTER = ("0", "-3", "soon", "Fri, 99999999999999999999 Dec 1999 23:59:59 GMT")
_RETRY_AFTER += ("Fri, 31 Dec 1999 23:59:59 GMT",)


def _body(rng: random.Random, case: int) -> bytes:
    good = savepoint_list(f"s3://fuzz/F{case}")
    kind = rng.randrange(8)
    if kind < 3:
        return good
    if kind == 3:
        return b'{"message": "fuzzed error"}'
    if kind == 4:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
    if kind == 5:
        return good[: rng.randrange(1, len(good))]
    if kind == 6:
        return rng.choice([b"", b"null", b"[]", b'"x"', b"[" * 3000])
    return b"<html><body>502 Bad Gateway</body></html>"


def _chunked(body: bytes, rng: random.Random, end: bool = True) -> bytes:
    out, i = b"", 0
    while i < len(body):
        n = rng.randrange(1, 40)
        out += f"{len(body[i : i + n]):x}\r\n".encode() + body[i : i + n] + b"\r\n"
        i += n
    return out + (b"0\r\n\r\n" if end else b"")


def fuzz_response(seed: int, case: int, next_job: str) -> tuple[bytes, str, str]:
    """Case ``case`` of run ``seed``: (the bytes, how the server ends: ``close``/``reset``/``serve``, a
    description); a forged answer appended names ``next_job``, the follow-up request's job."""
    rng = random.Random(seed * 1_000_003 + case)
    status = rng.choice(_GOOD + _BAD)
    body = _body(rng, case)
    headers: list[bytes] = []
    notes: list[str] = []
    encoding = rng.random()
    if encoding < 0.12:
        body = gzip.compress(body, mtime=0)
        headers.append(b"Content-Encoding: gzip")
        notes.append("gzip")
    elif encoding < 0.18:
        headers.append(b"Content-Encoding: " + rng.choice([b"gzip", b"deflate", b"br"]))
        notes.append("bad-encoding")
    framing = rng.choice(_FRAMINGS)
    notes.append(framing)
    n, chunked = len(body), b"Transfer-Encoding: chunked"
    if framing in ("cl-exact", "cl-twice-same", "cl-conflict"):
        headers += [f"Content-Length: {n}".encode()] * (2 if framing == "cl-twice-same" else 1)
        if framing == "cl-conflict":
            headers.append(f"Content-Length: {n + rng.randrange(1, 50)}".encode())
    elif framing in ("cl-short", "cl-long"):
        change = -rng.randrange(1, 20) if framing == "cl-short" else rng.randrange(1, 500)
        headers.append(f"Content-Length: {max(0, n + change)}".encode())
    elif framing == "cl-garbage":
        headers.append(b"Content-Length: " + rng.choice(_CL_GARBAGE).encode())
    elif framing == "chunked-bad-size":
        headers.append(chunked)
        body = rng.choice([b"zz\r\n", b"-5\r\n", b"ffffffffffffffffffff\r\n", b"5;\x00\r\n"]) + body
    elif framing.startswith("chunked"):
        headers += [chunked, f"Content-Length: {n}".encode()] if framing == "chunked-and-cl" else [chunked]
        body = _chunked(body, rng, end=framing != "chunked-no-end")
    elif framing == "te-unknown":
        headers.append(b"Transfer-Encoding: magic")
    extras = {
        "json": b"Content-Type: application/json",
        "conn-close": b"Connection: close",
        "keep-alive": b"Connection: keep-alive",
        "retry-after": b"Retry-After: " + rng.choice(_RETRY_AFTER).encode(),
        "location": b"Location: http://evil.example/x",
        "no-colon": b"NoColonHere",
        "folded": b"X-Fold: a\r\n  folded",
        "nul": b"X-Nul: a\x00b",
        "latin1": b"X-Latin: \xe9\xff",
        "long-header": b"X-Long: " + b"a" * 70_000,
        "many-headers": b"\r\n".join(f"X-H{i}: {i}".encode() for i in range(150)),
    }
    for name, line in extras.items():
        if rng.random() < (0.5 if name == "json" else 0.07):
            headers.insert(rng.randrange(len(headers) + 1), line)
            notes.append(name)
    tail = rng.random()
    if tail < 0.2:
        body += forged_answer(next_job)
        notes.append("tail=forged")
    elif tail < 0.3:
        body += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 100)))
        notes.append("tail=garbage")
    data = status + b"\r\n" + b"".join(line + b"\r\n" for line in headers) + b"\r\n" + body
    end = rng.choice(("close", "close", "reset"))
    if status in _GOOD and framing in _COMPLETE and rng.random() < 0.5:
        end = "serve"  # keep serving the connection: a client must not take leftovers as answers
    description = f"{status[:40]!r} {' '.join(notes)} end={end}"
    return data, end, description
