"""What keeps web pages and other local users out of the local stack.

- Host check: every server of the stack (the API, sandbox and control server, and the emulator)
  answers only requests whose ``Host`` is the loopback address and port it bound (``127.0.0.1:P`` or
  ``localhost:P``). A web page that rebinds its own DNS name to 127.0.0.1 still sends its own name
  as ``Host``, so it is refused (421) before any route runs.
- Control token: ``local up`` draws a random token and writes it into ``local.json``, created with
  mode 0600; the routes that steer the stack (``/_local/...``, and the sandbox's ``_reset``,
  ``_fail``, ``_tickets`` and ``_delay``) need it in ``X-Local-Token`` (401 otherwise).
- Bodies: a chunked body is capped at the same size as a Content-Length one.

Nothing here imports moto: the CLI reads ``TOKEN_HEADER`` from this module.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import secrets
from collections.abc import Iterable
from io import BufferedIOBase
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

TOKEN_HEADER = "X-Local-Token"  # noqa: S105 # nosec B105 # a header name, not a secret
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
MISDIRECTED = 421
WRONG_HOST = {"message": "Misdirected Request", "error": "the local stack answers only its loopback Host"}
NO_TOKEN = {"message": "Unauthorized", "error": f"this route needs the {TOKEN_HEADER} header from local.json"}
MAX_LINE = 1024  # a chunk-size or trailer line
MAX_TRAILERS = 64
CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


def loopback_hosts(port: int) -> frozenset[str]:
    """The ``Host`` values a server bound to 127.0.0.1:``port`` answers."""
    hosts = {f"{name}:{port}" for name in LOOPBACK_NAMES}
    if port == 80:  # clients leave the default port out
        hosts.update(LOOPBACK_NAMES)
    return frozenset(hosts)


def host_allowed(hosts: Iterable[str], allowed: frozenset[str]) -> bool:
    """Exactly one ``Host`` header, naming the loopback address and port the server bound."""
    found = list(hosts)
    return len(found) == 1 and found[0].strip().lower() in allowed


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_matches(presented: str | None, expected: str) -> bool:
    """Constant-time; an empty expected token matches nothing."""
    if not expected or presented is None:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def write_private(path: Path, text: str) -> None:
    """Write ``path`` atomically, mode 0600 from its creation (never readable by others, not even
    briefly); its directory is created mode 0700."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.unlink(missing_ok=True)
    # O_EXCL: a file or symlink planted under the temporary name is never written through.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    partial.replace(path)


def read_chunked(rfile: BufferedIOBase, limit: int) -> bytes:
    """A ``Transfer-Encoding: chunked`` body: OverflowError once it would pass ``limit`` bytes
    (before reading that chunk), ValueError when it is malformed."""
    body = bytearray()
    while True:
        size_field = _line(rfile).split(b";", 1)[0].strip()
        if not CHUNK_SIZE.fullmatch(size_field):
            raise ValueError("bad chunk size")
        size = int(size_field, 16)
        if size == 0:
            break
        if len(body) + size > limit:
            raise OverflowError
        chunk = rfile.read(size)
        if len(chunk) != size or _line(rfile).strip():
            raise ValueError("truncated chunk")
        body += chunk
    for _ in range(MAX_TRAILERS):
        if not _line(rfile).strip():
            return bytes(body)
    raise ValueError("too many trailers")


def _line(rfile: BufferedIOBase) -> bytes:
    line = rfile.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE or not line.endswith(b"\n"):
        raise ValueError("bad or missing line")
    return line


class HostCheck:
    """WSGI middleware: ``app`` sees only requests whose ``Host`` is in ``allowed`` (empty until the
    server is bound and its port known, so nothing is answered before)."""

    def __init__(self, app: WSGIApplication, allowed: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.allowed = allowed

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST")
        if host is not None and host_allowed([host], self.allowed):
            return self.app(environ, start_response)
        body = json.dumps(WRONG_HOST).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        start_response(f"{MISDIRECTED} Misdirected Request", headers)
        return [body]
