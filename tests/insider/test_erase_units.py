"""Erase and delete attributes without I/O: identifiers from the mapping, the pacer, the queue message kinds."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from shared.insider.compiled_mapping import load_mapping
from shared.insider.drain import SyncMessage
from shared.insider.erase import RatePacer
from shared.insider.identity import Identified, identify
from shared.insider.mapper import RejectedCustomer

MAPPING = load_mapping(json.loads(Path("shared/insider/mapping.default.json").read_text()))


def test_identifiers_are_the_syncs_whatever_else_the_record_holds() -> None:
    record = {"id": "c-1", "name": "Ada", "attributes": {"email": "Ada@Example.com", "phone": "+27 82 000 0000",
                                                        "birthday": "not a date", "tier": "Gold"},
              "events": [{"name": "purchase"}]}
    synced = MAPPING.map({**record, "attributes": {**record["attributes"], "birthday": "1990-01-01"}, "events": []})
    assert not isinstance(synced, RejectedCustomer)
    who = identify(MAPPING, record)  # an invalid birthday and event do not matter for an erasure
    assert who == Identified("c-1", "Ada", synced.user["identifiers"])
    assert who.values == ("c-1", "Ada@Example.com", "+27820000000")
    assert identify(MAPPING, {"id": "c-2"}) == Identified("c-2", None, {"uuid": "c-2"})  # nothing else to send


@pytest.mark.parametrize(("record", "fields"), [
    ({"id": " "}, {"id"}),
    ({"id": "c-3", "attributes": {"email": "nope"}}, {"attributes.email"}),
    ({"id": "c-4", "attributes": "x"}, {"attributes"}),
    ("c-5", {"customer"}),
])
def test_a_customer_without_a_valid_identifier_is_rejected(record: object, fields: set[str]) -> None:
    outcome = identify(MAPPING, record)
    assert isinstance(outcome, RejectedCustomer)
    assert {e["field"] for e in outcome.errors} == fields


async def test_the_pacer_spaces_starts_and_holds_after_a_429() -> None:
    pacer = RatePacer(600)  # one start per 0.1 s
    started = time.monotonic()
    for _ in range(4):
        await pacer.slot()
    assert 0.28 <= time.monotonic() - started < 0.6
    pacer.hold(0.3)
    held = time.monotonic()
    await pacer.slot()
    assert time.monotonic() - held >= 0.29


def test_queue_messages_say_their_kind() -> None:
    erase = SyncMessage.parse(json.dumps({"kind": "erase", "action": "anonymize", "customers": [{"id": "a"}]}))
    assert (erase.kind, erase.action, erase.deletion) == ("erase", "anonymize", None)
    deletion = SyncMessage.parse(json.dumps({"kind": "delete-attributes", "customers": [{"id": "a"}], "whole": [
        "city", "city"], "custom": {"partial": [{"name": "badges", "values": ["gold"]}]}, "requestId": "r1"}))
    assert deletion.deletion == {"whole": ["city"], "custom": {"partial": {"badges": ["gold"]}}}
    retry = SyncMessage.parse(deletion.again([{"id": "a"}], 2).to_text())
    assert (retry.kind, retry.deletion, retry.request_id, retry.attempt) == ("delete-attributes",
                                                                             deletion.deletion, "r1", 2)
    assert SyncMessage.parse(json.dumps({"customers": [], "kind": "sync"})).kind == "sync"
    assert json.loads(SyncMessage([{"id": "a"}]).to_text()) == {"customers": [{"id": "a"}], "attempt": 1}


@pytest.mark.parametrize(("message", "error"), [
    ({"kind": "forget", "customers": []}, "kind must be one of sync, erase, delete-attributes"),
    ({"kind": "erase", "customers": []}, "action must be delete or anonymize"),
    ({"kind": "delete-attributes", "customers": []}, "name at least one attribute"),
    ({"kind": "delete-attributes", "customers": [], "whole": ["email"]}, "whole[0]"),
])
def test_a_malformed_kind_is_refused_naming_what_is_wrong(message: dict[str, object], error: str) -> None:
    with pytest.raises(ValueError, match=error.replace("[", r"\[").replace("]", r"\]")):
        SyncMessage.parse(json.dumps(message))
