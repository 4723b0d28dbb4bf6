"""``vigie gateway``: the API, the acknowledgement index and the webhook dispatchers in one
event loop (uvicorn serves the app; nothing blocks the loop)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx
import uvicorn

from vigie.gateway.acks import AckIndex, tail_acks
from vigie.gateway.api import Gateway, create_app
from vigie.gateway.partners import GatewayPartners
from vigie.gateway.publisher import KafkaPublisher
from vigie.gateway.settings import GatewaySettings
from vigie.gateway.webhooks import WebhookDispatcher
from vigie.settings import Settings

log = logging.getLogger("vigie.gateway")


async def serve(settings: Settings, config: GatewaySettings, partners: GatewayPartners,
                *, loglevel: str = "info") -> None:
    stop = asyncio.Event()
    index = AckIndex(config.ack_index_max_events)
    publisher = KafkaPublisher(settings, config.publish_timeout_seconds)
    await publisher.start()
    app = create_app(Gateway(settings, config, partners, publisher, index))
    server = uvicorn.Server(uvicorn.Config(
        app, host=config.host, port=config.port, log_config=None, log_level=loglevel,
        access_log=False, ssl_certfile=config.tls_certfile, ssl_keyfile=config.tls_keyfile,
        server_header=False))
    async with httpx.AsyncClient(follow_redirects=False) as http:
        tasks = [asyncio.create_task(tail_acks(settings, partners.ids(), index,
                                               config.ack_window_hours, stop))]
        tasks += [asyncio.create_task(WebhookDispatcher(settings, config, p, http, stop).run())
                  for p in partners.partners if p.webhook_url and p.webhook_secret]

        def ended(task: asyncio.Task[None]) -> None:
            # A reader that died (broker gone for good, refused login) must not leave an API
            # answering from a frozen index: stop, and let the supervisor start us again.
            if not stop.is_set() and not task.cancelled() and task.exception() is not None:
                log.error("gateway background task failed, stopping",
                          extra={"error": type(task.exception()).__name__})
                server.should_exit = True

        for task in tasks:
            task.add_done_callback(ended)
        log.info("gateway serving", extra={"host": config.host, "port": config.port,
                                           "partners": len(partners.partners),
                                           "webhooks": len(tasks) - 1})
        try:
            await server.serve()
        finally:
            stop.set()
            for task in tasks:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, 20)
            await publisher.stop()
