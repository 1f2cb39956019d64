"""Queue triggers against real Azurite: encoding, retries, poison queue, limits, shutdown."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import pytest
from azure.storage.queue import TextBase64DecodePolicy, TextBase64EncodePolicy
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from local_runner.host_config import HostConfig, load_host_config
from local_runner.queue_listener import MessageDecodeError, decode_message

from .conftest import SAMPLE_APP_DIR, HostFactory
from .helpers import eventually

MAX_DEQUEUE = load_host_config(SAMPLE_APP_DIR).queues.max_dequeue_count  # 3 in the sample host.json


def raw_client(service: QueueServiceClient, name: str) -> QueueClient:
    return service.get_queue_client(name)


def base64_client(service: QueueServiceClient, name: str) -> QueueClient:
    return service.get_queue_client(name, message_encode_policy=TextBase64EncodePolicy(),
                                    message_decode_policy=TextBase64DecodePolicy())


async def message_count(queue: QueueClient) -> int:
    return (await queue.get_queue_properties()).approximate_message_count


async def visible_contents(queue: QueueClient) -> list[str]:
    return [m.content for m in await queue.peek_messages(max_messages=32)]


def test_decode_message() -> None:
    assert decode_message(base64.b64encode("héllo".encode()).decode(), "base64") == "héllo".encode()
    assert decode_message("aGVs\nbG8=", "base64") == b"hello"
    assert decode_message("plain {json}", "none") == b"plain {json}"
    for bad in ("not base64!", "abc", "aGVsbG8"):
        with pytest.raises(MessageDecodeError):
            decode_message(bad, "base64")


async def test_base64_message_is_processed_and_deleted(make_host: HostFactory, state: Any,
                                                       queue_service: QueueServiceClient,
                                                       queue_names: dict[str, str]) -> None:
    await make_host(["ok_queue"])
    queue = base64_client(queue_service, queue_names["OK_QUEUE"])
    sent = await queue.send_message('{"greeting": "héllo"}')
    await eventually(lambda: state.processed, what="the message to be processed")
    assert state.processed == [{"id": sent.id, "body": '{"greeting": "héllo"}', "dequeue_count": 1}]
    await eventually(lambda: _is_zero(message_count(queue)), what="the message to be deleted")


async def _is_zero(count: Any) -> bool:
    return await count == 0


async def test_failing_message_is_retried_then_poisoned_with_original_body(
        make_host: HostFactory, state: Any, queue_service: QueueServiceClient, queue_names: dict[str, str]) -> None:
    await make_host(["fail_queue"])
    name = queue_names["FAIL_QUEUE"]
    original = base64.b64encode(b'{"job": 1}').decode()
    sent = await raw_client(queue_service, name).send_message(original)
    poison = raw_client(queue_service, f"{name}-poison")
    contents = await eventually(lambda: _peek_if_exists(poison), what="the poison message")
    assert contents == [original]  # byte-for-byte the original (still base64)
    assert [f["dequeue_count"] for f in state.failures] == list(range(1, MAX_DEQUEUE + 1))
    assert {f["id"] for f in state.failures} == {sent.id}
    assert {f["body"] for f in state.failures} == {'{"job": 1}'}
    await eventually(lambda: _is_zero(message_count(raw_client(queue_service, name))),
                     what="the original message to be deleted")


async def _peek_if_exists(queue: QueueClient) -> list[str] | None:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return await visible_contents(queue)
    except ResourceNotFoundError:
        return None


async def test_non_base64_message_goes_to_poison_without_a_call(
        make_host: HostFactory, state: Any, queue_service: QueueServiceClient, queue_names: dict[str, str]) -> None:
    host = await make_host(["ok_queue"])
    name = queue_names["OK_QUEUE"]
    await raw_client(queue_service, name).send_message("not base64!")
    await base64_client(queue_service, name).send_message("good one")
    poison = raw_client(queue_service, f"{name}-poison")
    assert await eventually(lambda: _peek_if_exists(poison), what="the poison message") == ["not base64!"]
    await eventually(lambda: state.processed, what="the good message")
    assert [p["body"] for p in state.processed] == ["good one"]  # the bad one never reached the function
    await eventually(lambda: _is_zero(message_count(raw_client(queue_service, name))), what="an empty queue")
    assert host.queue_listeners[0].in_flight == 0


async def test_message_dequeued_too_often_is_poisoned_without_a_call(
        make_host: HostFactory, state: Any, queue_service: QueueServiceClient, queue_names: dict[str, str]) -> None:
    name = queue_names["OK_QUEUE"]
    queue = base64_client(queue_service, name)
    await queue.create_queue()
    await queue.send_message("crashed before")
    for _ in range(MAX_DEQUEUE):  # simulate hosts that crashed while holding the message
        (message,) = [m async for m in queue.receive_messages(max_messages=1, visibility_timeout=30)]
        await queue.update_message(message, pop_receipt=message.pop_receipt, visibility_timeout=0)
    await make_host(["ok_queue"])
    poison = base64_client(queue_service, f"{name}-poison")
    assert await eventually(lambda: _peek_if_exists(poison), what="the poison message") == ["crashed before"]
    assert state.processed == []


async def test_message_encoding_none(make_host: HostFactory, state: Any, queue_service: QueueServiceClient,
                                     queue_names: dict[str, str]) -> None:
    config = load_host_config(SAMPLE_APP_DIR)
    config = dataclasses.replace(config, queues=dataclasses.replace(config.queues, message_encoding="none"))
    await make_host(["ok_queue"], host_config=config)
    await raw_client(queue_service, queue_names["OK_QUEUE"]).send_message("plain text, not base64")
    await eventually(lambda: state.processed, what="the message")
    assert state.processed[0]["body"] == "plain text, not base64"


async def test_batch_size_limits_messages_in_flight(make_host: HostFactory, state: Any,
                                                    queue_service: QueueServiceClient,
                                                    queue_names: dict[str, str]) -> None:
    name = queue_names["SLOW_QUEUE"]
    queue = base64_client(queue_service, name)
    await queue.create_queue()
    for index in range(6):
        await queue.send_message(f"m{index}")
    config = load_host_config(SAMPLE_APP_DIR)
    config = dataclasses.replace(config, queues=dataclasses.replace(config.queues, batch_size=2,
                                                                    new_batch_threshold=1))
    host = await make_host(["slow_queue"], host_config=config)
    listener = host.queue_listeners[0]
    await eventually(lambda: listener.in_flight == 2, what="a first batch of 2")
    # Two functions never finish, so in-flight (2) stays above newBatchThreshold (1): no new batch.
    assert len(await visible_contents(queue)) == 4
    assert listener.in_flight == 2


async def test_shutdown_makes_in_flight_message_visible_again(
        make_host: HostFactory, state: Any, queue_service: QueueServiceClient, queue_names: dict[str, str]) -> None:
    host = await make_host(["slow_queue"])
    queue = base64_client(queue_service, queue_names["SLOW_QUEUE"])
    await queue.send_message("long job")
    await eventually(lambda: state.slow_started is not None and state.slow_started.is_set(),
                     what="the slow function to start")
    assert await visible_contents(queue) == []  # locked while running
    await host.stop(grace_seconds=0.2)
    assert state.slow_cancelled
    assert await eventually(lambda: visible_contents(queue), what="the message to reappear") == ["long job"]
    assert await message_count(queue) == 1


async def test_unreachable_storage_is_a_startup_error(sample: Any, queue_names: dict[str, str]) -> None:
    from devstack.ports import free_port
    from local_runner.errors import StartupError
    from local_runner.host import LocalHost

    port = free_port()
    settings = {**queue_names, "TICK_SCHEDULE": "0 0 0 1 1 *",
                "AzureWebJobsStorage": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                f"AccountKey=a2V5;QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"}
    host = LocalHost(sample.app, app_dir=SAMPLE_APP_DIR, settings=settings, port=0, functions=["ok_queue"],
                     host_config=HostConfig())
    with pytest.raises(StartupError, match="ok_queue"):
        await host.start()
