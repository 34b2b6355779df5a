"""The HTTP server's own limit on a request's head (request line and headers), before any of the app runs.

uvicorn's httptools protocol has no such limit: llhttp hands each header over whole, and httptools gathers
a header's value in memory for as long as it keeps coming, so a 16 MB header is read whole before the app
can answer 401 (uvicorn's `h11_max_incomplete_event_size` applies to its h11 protocol only). This protocol
counts the bytes of the head as they arrive, and also each header as the parser hands it over: past
D07_HTTP_MAX_HEADER_BYTES it answers 431 (a problem+json body) and closes the connection, holding at most the
limit plus one read in memory.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from d07.platform.logging import get_logger

log = get_logger(__name__)


class _HeadTooLarge(Exception):
    pass


def _response_431(limit: int) -> bytes:
    body = json.dumps(
        {
            "type": "https://d07.gov.vn/problems/header_too_large",
            "title": "Request Header Fields Too Large",
            "status": 431,
            "detail": f"the request line and headers are larger than {limit} bytes",
            "instance": "",
            "code": "header_too_large",
            "request_id": "",
        }
    ).encode()
    head = (
        "HTTP/1.1 431 Request Header Fields Too Large\r\n"
        "content-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body


def limited_httptools(max_header_bytes: int) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol with a limit on each request's head (give the class as `http=`)."""
    refusal = _response_431(max_header_bytes)

    class LimitedHttpToolsProtocol(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._in_head = True
            self._head_bytes = 0  # bytes received while the head is incomplete
            self._fields_bytes = 0  # the request line and the headers the parser handed over
            self._refused = False

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return
            self._unset_keepalive_if_required()
            if self._in_head:
                self._head_bytes += len(data)
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserCallbackError as exc:
                if isinstance(exc.__context__, _HeadTooLarge):
                    self._refuse()
                    return
                self._parser_error()
                return
            except httptools.HttpParserError:
                self._parser_error()
                return
            except httptools.HttpParserUpgrade:
                if self._should_upgrade():
                    self.handle_websocket_upgrade()
                else:
                    self._unsupported_upgrade_warning()
                return
            if self._in_head and self._head_bytes > max_header_bytes:
                self._refuse()

        def _parser_error(self) -> None:
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)

        def _count(self, n: int) -> None:
            self._fields_bytes += n
            if self._fields_bytes > max_header_bytes:
                raise _HeadTooLarge

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_head = True
            self._fields_bytes = 0

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._head_bytes = 0
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._in_head = True
            self._head_bytes = 0

        def _refuse(self) -> None:
            self._refused = True
            client = self.client[0] if self.client else ""
            log.warning("http_header_too_large", client=client, limit=max_header_bytes)
            self.transport.write(refusal)
            self.transport.close()

    return LimitedHttpToolsProtocol
