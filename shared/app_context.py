"""Everything a trigger needs, built once per process: settings, storage, one HTTP client, services."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass

import httpx

from shared.delivery.batches import BatchStore
from shared.delivery.records import DeliveryRecords
from shared.http_transport import UpstreamTransport
from shared.inquba.client import InqubaConnection
from shared.inquba.publishing import InqubaPublisher
from shared.inquba.token_cache import TokenCache
from shared.insider.erase import InsiderEraser
from shared.insider.mapping_store import MappingStore
from shared.insider.pause import InsiderPause
from shared.insider.sync import InsiderSyncer
from shared.operations.dead_letters import DeadLetterQueue, DeadLetterRecords
from shared.operations.stats import DeliveryStats
from shared.outbound_log.writer import OutboundLog
from shared.redaction import Redactor
from shared.settings import Settings, UpstreamNotConfigured, load_settings
from shared.storage_clients import StorageClients
from shared.upstream import UpstreamClient

logger = logging.getLogger(__name__)


@dataclass
class AppContext:
    settings: Settings
    storage: StorageClients
    http: httpx.AsyncClient
    upstream: UpstreamClient
    redactor: Redactor
    outbound_log: OutboundLog
    token_cache: TokenCache
    inquba: InqubaPublisher
    deliveries: DeliveryRecords
    batches: BatchStore
    mapping_store: MappingStore
    stats: DeliveryStats
    dead_letters: DeadLetterRecords
    _insider: InsiderSyncer | None = None
    _eraser: InsiderEraser | None = None

    @classmethod
    async def create(cls, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> AppContext:
        storage = StorageClients.from_settings(settings)
        try:
            await storage.ensure_resources()
        except BaseException:
            await storage.close()
            raise
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        http = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.upstream_timeout_seconds, connect=settings.upstream_connect_timeout_seconds),
            limits=limits,
            transport=transport or UpstreamTransport(limits=limits),
            follow_redirects=False,  # a redirect must never carry credentials to another host
        )
        secrets = []
        if settings.inquba:
            secrets += [settings.inquba.password, settings.inquba.client_secret]
        if settings.insider:
            secrets.append(settings.insider.api_key)
        redactor = Redactor(secrets)
        outbound_log = OutboundLog(
            storage.table_client("OUTBOUND_LOG_TABLE"), storage.work_queue("OUTBOUND_LOG_RETRY_QUEUE")
        )
        token_cache = TokenCache(
            storage.container("TOKEN_CACHE_CONTAINER"),
            refresh_skew_seconds=settings.token_refresh_skew_seconds,
            default_lifetime_seconds=settings.token_default_lifetime_seconds,
        )
        stats = DeliveryStats(storage.table_client("STATS_TABLE"))
        upstream = UpstreamClient(http, outbound_log, redactor,
                                  max_inline_retry_after=settings.upstream_max_inline_retry_after_seconds, stats=stats)
        inquba = InqubaPublisher(upstream, token_cache)
        deliveries = DeliveryRecords(storage.table_client("DELIVERY_TABLE"))
        batches = BatchStore(storage.table_client("BATCH_TABLE"))
        mapping_store = MappingStore(storage.container("INSIDER_MAPPING_CONTAINER"))
        dead_letters = DeadLetterRecords(storage.table_client("DEAD_LETTER_TABLE"))
        return cls(settings, storage, http, upstream, redactor, outbound_log, token_cache, inquba, deliveries, batches,
                   mapping_store, stats, dead_letters)

    def dead_letter_queue(self, setting: str) -> DeadLetterQueue:
        """The poison queue of the work queue named by `setting`, with the dead-letter records beside it."""
        return DeadLetterQueue(self.storage.poison_queue(setting), self.dead_letters)

    def inquba_connection(self) -> InqubaConnection:
        """The configured inQuba connection; UpstreamNotConfigured naming the settings when there is none."""
        cfg = self.settings.inquba
        if cfg is None:
            raise UpstreamNotConfigured("inQuba", "INQUBA_TENANT, INQUBA_TOKEN_HOST, INQUBA_USERNAME, INQUBA_PASSWORD, "
                                                  "INQUBA_CLIENT_ID and INQUBA_CLIENT_SECRET")
        return InqubaConnection(
            cfg.token_url, cfg.tenant, cfg.username, cfg.password, cfg.client_id, cfg.client_secret, cfg.api_url
        )

    def insider_syncer(self) -> InsiderSyncer:
        """The Insider connection's syncer; UpstreamNotConfigured naming the settings when there is none."""
        cfg = self.settings.insider
        if cfg is None:
            raise UpstreamNotConfigured("Insider", "INSIDER_PARTNER_NAME and INSIDER_API_KEY")
        if self._insider is None:
            pause = InsiderPause(self.storage.container("INSIDER_MAPPING_CONTAINER"), cfg.partner_name, cfg.api_key)
            self._insider = InsiderSyncer(self.upstream, cfg, pause)
        return self._insider

    def insider_eraser(self) -> InsiderEraser:
        """Erases customers at Insider and in the app's tables; 503 when Insider is not configured."""
        syncer = self.insider_syncer()
        if self._eraser is None:
            self._eraser = InsiderEraser(syncer, self.outbound_log.table, self.deliveries.table, self.batches.table)
        return self._eraser

    async def close(self) -> None:
        try:
            await self.stats.close()  # the counts not merged yet: at most a minute's worth
        except Exception:
            logger.exception("delivery stats: the last flush failed; up to a minute of counts is lost")
        await self.http.aclose()
        await self.storage.close()


_context: AppContext | None = None
_context_loop: asyncio.AbstractEventLoop | None = None
_lock: asyncio.Lock | None = None
_closer: asyncio.Task[None] | None = None


async def _close_when_the_loop_ends(ctx: AppContext) -> None:
    """Closes the context's clients when the host ends the event loop.

    The Functions worker has no shutdown hook for an app; a host that stops the way `asyncio.run` does (the
    local runner, a test loop) cancels the tasks still pending, and this one then closes the HTTP client and the
    storage clients, so that nothing is left unclosed.
    """
    try:
        await asyncio.Event().wait()
    finally:
        await ctx.close()


async def get_context() -> AppContext:
    """The process-wide context, created on first use (settings errors surface as SettingsError)."""
    global _context, _context_loop, _lock, _closer
    loop = asyncio.get_running_loop()
    if _context is not None and _context_loop is loop:
        return _context
    if _lock is None or _context_loop is not loop:
        _lock, _context_loop, _context = asyncio.Lock(), loop, None
    async with _lock:
        if _context is None:
            _context = await AppContext.create(load_settings(os.environ))
            _closer = loop.create_task(_close_when_the_loop_ends(_context), name="close app context")
        return _context
