"""Queue triggers with the host's semantics (Microsoft.Azure.WebJobs.Extensions.Storage.Queues 5.x).

* Receive up to `batchSize` messages with a 10-minute visibility timeout; keep at most
  `batchSize + newBatchThreshold` in flight, fetching again when in-flight ≤ `newBatchThreshold`.
* Poll 100 ms after finding messages; when the queue is empty back off exponentially from 100 ms
  to `maxPollingInterval`.
* Success → delete. Failure → if `dequeueCount >= maxDequeueCount`, copy the original message to
  `<queue>-poison` and then delete it; otherwise make it visible again after `visibilityTimeout`.
  Queues without a poison queue (names ending in `-poison`) leave a failed message invisible.
* A message already dequeued more than `maxDequeueCount` times goes to poison without a call.
* With `messageEncoding: base64`, a message that is not valid base64 goes to the poison queue at
  once without calling the function (the host's MessageDecodingFailed handler does this).
* Visibility of a long-running message is extended every 5 minutes, as the host does.

Messages are read and copied in their raw form; decoding happens per message, so one bad message
cannot break a batch, and the poison copy is byte-for-byte the original.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.functions.queue import QueueMessage as FunctionQueueMessage
from azure.storage.queue.aio import QueueClient

from local_runner.functions import FunctionDef, QueueTriggerInfo
from local_runner.host_config import QueueEncoding, QueuesOptions
from local_runner.invocation import Invoker

log = logging.getLogger("local_runner.queues")

MESSAGE_VISIBILITY_SECONDS = 600  # the host's peek-lock: 10 minutes
MIN_POLLING_SECONDS = 0.1
POLLER_STOP_SECONDS = 5.0


class MessageDecodeError(ValueError):
    pass


def decode_message(content: str | None, encoding: str) -> bytes:
    """The message body the function sees: base64-decoded bytes, or the UTF-8 text for `none`."""
    text = content or ""
    if encoding == QueueEncoding.NONE:
        return text.encode("utf-8")
    compact = "".join(text.split())  # like Convert.FromBase64String, whitespace is ignored
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MessageDecodeError(f"not valid base64: {exc}") from exc


@dataclass(eq=False)
class _Lease:
    message: Any  # azure.storage.queue.QueueMessage
    pop_receipt: str
    task: asyncio.Task[None] | None = None
    renewer: asyncio.Task[None] | None = None
    stop_renewing: asyncio.Event = field(default_factory=asyncio.Event)
    abandoned: bool = False
    settling: bool = False


async def ensure_queue(client: QueueClient, **options: Any) -> bool:
    """Create the queue when it is missing; True when it was created."""
    try:
        await client.create_queue(**options)
    except ResourceExistsError:
        return False
    return True


async def ensure_queue_quickly(client: QueueClient, attempts: int = 3) -> bool:
    """`ensure_queue` for start-up: a few quick tries instead of the SDK's long retry schedule."""
    for attempt in range(1, attempts + 1):
        try:
            return await ensure_queue(client, retry_total=0)
        except (ServiceRequestError, ServiceResponseError):
            if attempt == attempts:
                raise
            await asyncio.sleep(0.5 * attempt)
    raise AssertionError("unreachable")


class QueueListener:
    def __init__(self, function: FunctionDef, queue: QueueClient, poison_queue: QueueClient | None,
                 options: QueuesOptions, invoker: Invoker, *,
                 lease_seconds: int = MESSAGE_VISIBILITY_SECONDS,
                 renew_interval: float | None = None) -> None:
        assert isinstance(function.trigger, QueueTriggerInfo)
        self.function = function
        self.queue = queue
        self.poison_queue = poison_queue
        self.options = options
        self.invoker = invoker
        self.lease_seconds = lease_seconds
        self.renew_interval = renew_interval if renew_interval is not None else lease_seconds / 2
        self._leases: dict[str, _Lease] = {}
        self._capacity = asyncio.Event()
        self._stopping = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None

    @property
    def queue_name(self) -> str:
        return self.queue.queue_name

    @property
    def in_flight(self) -> int:
        return len(self._leases)

    async def start(self) -> None:
        if await ensure_queue_quickly(self.queue):
            log.info("created queue '%s' (local convenience: the Functions host does not create it)",
                     self.queue_name)
        self._poller = asyncio.create_task(self._poll(), name=f"queue:{self.queue_name}")

    # ---- polling -------------------------------------------------------------------------

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _receive(self) -> list[Any]:
        pages = self.queue.receive_messages(messages_per_page=self.options.batch_size,
                                            visibility_timeout=self.lease_seconds).by_page()
        try:
            page = await pages.__anext__()
        except StopAsyncIteration:
            return []
        return [message async for message in page]

    async def _poll(self) -> None:
        max_delay = max(self.options.max_polling_interval.total_seconds(), MIN_POLLING_SECONDS)
        empty_delay = MIN_POLLING_SECONDS
        while not self._stopping.is_set():
            if len(self._leases) > self.options.new_batch_threshold:
                self._capacity.clear()
                waiters = [asyncio.ensure_future(self._capacity.wait()),
                           asyncio.ensure_future(self._stopping.wait())]
                try:
                    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for waiter in waiters:
                        waiter.cancel()
                continue
            try:
                messages = await self._receive()
            except ResourceNotFoundError:
                log.warning("queue '%s' does not exist (deleted?); creating it again", self.queue_name)
                with contextlib.suppress(Exception):
                    await ensure_queue(self.queue)
                messages = []
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("receiving from queue '%s' failed: %s", self.queue_name, exc)
                messages = []
            if self._stopping.is_set():
                for message in messages:  # received during shutdown: hand them straight back
                    await self._make_visible(_Lease(message, message.pop_receipt))
                break
            for message in messages:
                self._dispatch(message)
            if messages:  # like the host: poll again as soon as in-flight work is down to newBatchThreshold
                empty_delay = MIN_POLLING_SECONDS
            else:
                await self._pause(empty_delay)
                empty_delay = min(empty_delay * 2, max_delay)

    def _dispatch(self, message: Any) -> None:
        lease = _Lease(message, message.pop_receipt)
        self._leases[message.id] = lease
        lease.task = asyncio.create_task(self._process(lease), name=f"queue:{self.queue_name}:{message.id}")

    # ---- one message ---------------------------------------------------------------------

    async def _process(self, lease: _Lease) -> None:
        message = lease.message
        try:
            if message.dequeue_count > self.options.max_dequeue_count:
                log.warning("message %s on '%s' was already dequeued %d times (maxDequeueCount %d)",
                            message.id, self.queue_name, message.dequeue_count, self.options.max_dequeue_count)
                lease.settling = True
                await self._poison(lease)
                return
            try:
                body = decode_message(message.content, self.options.message_encoding)
            except MessageDecodeError as exc:
                log.error("message %s on '%s' cannot be decoded (messageEncoding '%s': %s); the function is not "
                          "called and the message goes to the poison queue, as the Functions host does",
                          message.id, self.queue_name, self.options.message_encoding, exc)
                lease.settling = True
                await self._poison(lease)
                return
            succeeded = await self._invoke(lease, body)
            if lease.abandoned:
                return
            lease.settling = True
            if succeeded:
                await self._delete(lease)
            elif self.poison_queue is None:
                log.warning("message %s on '%s' failed; no poison queue for this queue, so it stays invisible "
                            "until its 10-minute lock expires", message.id, self.queue_name)
            elif message.dequeue_count >= self.options.max_dequeue_count:
                await self._poison(lease)
            else:
                await self._make_visible(lease, self.options.visibility_timeout.total_seconds())
        except asyncio.CancelledError:
            if not lease.abandoned:
                raise
        except Exception:
            log.exception("settling message %s on '%s' failed; it reappears when its lock expires",
                          message.id, self.queue_name)
        finally:
            self._leases.pop(message.id, None)
            self._capacity.set()

    async def _invoke(self, lease: _Lease, body: bytes) -> bool:
        message = lease.message
        argument = FunctionQueueMessage(
            id=message.id, body=body, dequeue_count=message.dequeue_count,
            expiration_time=message.expires_on, insertion_time=message.inserted_on,
            time_next_visible=message.next_visible_on, pop_receipt=message.pop_receipt)
        lease.renewer = asyncio.create_task(self._renew(lease))
        try:
            await self.invoker.invoke(self.function, argument, f"New queue message detected on '{self.queue_name}'.")
            return True
        except asyncio.CancelledError:
            raise
        except Exception:  # logged by the invoker
            return False
        finally:
            await self._stop_renewing(lease)

    async def _renew(self, lease: _Lease) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lease.stop_renewing.wait(), timeout=self.renew_interval)
            if lease.stop_renewing.is_set():
                return
            try:
                receipt = await self.queue.update_message(lease.message.id, lease.pop_receipt,
                                                          visibility_timeout=self.lease_seconds)
                lease.pop_receipt = receipt.pop_receipt
            except Exception as exc:
                log.warning("extending the lock of message %s failed: %s", lease.message.id, exc)

    async def _stop_renewing(self, lease: _Lease) -> None:
        lease.stop_renewing.set()
        if lease.renewer is not None:
            await asyncio.gather(lease.renewer, return_exceptions=True)

    # ---- settlement ----------------------------------------------------------------------

    async def _delete(self, lease: _Lease) -> None:
        try:
            await self.queue.delete_message(lease.message.id, lease.pop_receipt)
        except ResourceNotFoundError:
            log.debug("message %s was already gone", lease.message.id)
        except HttpResponseError as exc:
            if exc.status_code == 400:  # pop receipt mismatch: someone else owns it now
                log.debug("message %s: pop receipt mismatch on delete", lease.message.id)
                return
            raise

    async def _make_visible(self, lease: _Lease, after_seconds: float = 0) -> None:
        try:
            await self.queue.update_message(lease.message.id, lease.pop_receipt,
                                            visibility_timeout=int(after_seconds))
        except ResourceNotFoundError:
            pass
        except HttpResponseError as exc:
            if exc.status_code != 400:
                raise

    async def _poison(self, lease: _Lease) -> None:
        if self.poison_queue is None:
            log.warning("message %s on '%s' should be poisoned but this queue has no poison queue",
                        lease.message.id, self.queue_name)
            return
        log.warning("Message has reached MaxDequeueCount of %d. Moving message to queue '%s'.",
                    self.options.max_dequeue_count, self.poison_queue.queue_name)
        try:
            await self.poison_queue.send_message(lease.message.content)
        except ResourceNotFoundError:
            await ensure_queue(self.poison_queue)
            await self.poison_queue.send_message(lease.message.content)
        await self._delete(lease)  # only after the copy succeeded

    # ---- shutdown ------------------------------------------------------------------------

    async def stop(self, deadline: float) -> None:
        """Stop polling; wait for running invocations until `deadline` (loop time); hand back the rest."""
        self._stopping.set()
        loop = asyncio.get_running_loop()
        if self._poller is not None:
            # A receive in progress is allowed to finish (its messages are handed back), within bounds.
            await asyncio.wait({self._poller}, timeout=max(deadline - loop.time(), POLLER_STOP_SECONDS))
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        pending = {lease.task for lease in self._leases.values() if lease.task is not None}
        if pending:
            await asyncio.wait(pending, timeout=max(deadline - loop.time(), 0))
        unfinished = [lease for lease in self._leases.values() if not lease.settling]
        for lease in unfinished:  # first mark them all, before any await lets a settlement start
            lease.abandoned = True
        for lease in unfinished:
            await self._stop_renewing(lease)
            try:
                await self._make_visible(lease, 0)
                log.warning("message %s on '%s' did not finish within the grace period; made visible again",
                            lease.message.id, self.queue_name)
            except Exception:
                log.exception("could not make message %s visible again; it reappears when its lock expires",
                              lease.message.id)
            if lease.task is not None:
                lease.task.cancel()
        remaining = [lease.task for lease in self._leases.values() if lease.task is not None]
        if remaining:  # settling ones finish their storage call; cancelled ones end quickly
            await asyncio.wait(remaining, timeout=10)
