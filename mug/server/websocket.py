"""uvicorn's websocket protocol with compression that holds no memory between messages.

Serve with `uvicorn mug.app:app --ws mug.server.websocket:WebSocketProtocol` (`mug serve` passes it itself).
Without the flag everything works the same and each connected participant costs about 50 KB more.

uvicorn's own `websockets-sansio` protocol (its "auto" choice) negotiates permessage-deflate with context
takeover: every connection keeps a zlib compressor (window 4 KiB, memLevel 5: about 38 KB) and a
decompressor (about 11 KB) for its whole life, whether it sends anything or not. That is half of what a
connected, waiting participant costs the server (docs/performance.md). This protocol negotiates
`server_no_context_takeover` and `client_no_context_takeover` (RFC 7692 section 7.1.1: a server may add both
to its answer; every browser supports them), so python-websockets makes a compressor or decompressor for a
message and drops it when the message is done. Messages are still compressed, each on its own: the page's
record batches (the large ones) as well as before; small messages lose the little a shared window gave them.

A message larger than `mug.server.limits.MAX_PACKET_BYTES` (decompressed; or uvicorn's `--ws-max-size`, if
that is smaller) closes the connection with code 1009 before anything decodes it; python-engineio does not
check websocket messages under ASGI, and uvicorn's default is 16 MiB. Everything else is uvicorn's: the
handshake, pings, back-pressure, and the ASGI interface. The request and response headers of
the handshake are dropped once the handshake is done (the ASGI scope keeps the headers the app reads).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.server import ServerProtocol

from mug.server.limits import MAX_PACKET_BYTES

# what `uvicorn --ws` takes to use this protocol
PROTOCOL = "mug.server.websocket:WebSocketProtocol"

# uvicorn's own settings: 4 KiB windows and memLevel 5 keep a message's compressor near 38 KB while it lives
WINDOW_BITS = 12
COMPRESS_SETTINGS = {"memLevel": 5}


def deflate() -> ServerPerMessageDeflateFactory:
    """permessage-deflate without context takeover in either direction."""
    return ServerPerMessageDeflateFactory(
        server_no_context_takeover=True,
        client_no_context_takeover=True,
        server_max_window_bits=WINDOW_BITS,
        client_max_window_bits=WINDOW_BITS,
        compress_settings=dict(COMPRESS_SETTINGS),
    )


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's `websockets-sansio` protocol, negotiating compression without context takeover."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # the same protocol object uvicorn builds (no handshake yet), with our extension factory and size limit
        self.conn = ServerProtocol(
            extensions=[deflate()] if config.ws_per_message_deflate else [],
            max_size=min(config.ws_max_size, MAX_PACKET_BYTES),
            logger=logging.getLogger("uvicorn.error"),
        )

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # the handshake's request and response (headers and all): uvicorn reads them only before this
            del self.request, self.response
