"""Mapping throughput for a typical customer. Prints the rate; asserts correctness only, never timing.

Target: at least 50,000 customers mapped and validated per second on one core for a customer
with 3 identifiers, 6 attributes and 1 event with 3 parameters.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from shared.insider.compiled_mapping import load_mapping
from shared.insider.mapper import MappedCustomer, map_customer

DOCUMENT = {
    "identifiers": [
        {"source": "id", "insider": "uuid"},
        {"source": "email", "insider": "email"},
        {"source": "loyalty_number", "insider": "loyalty_number", "custom": True},
    ],
    "profile": [
        {"source": "first_name", "insider": "name"},
        {"source": "last_name", "insider": "surname"},
        {"source": "birthday", "insider": "birthday"},
        {"source": "country", "insider": "country"},
        {"source": "email_optin", "insider": "email_optin"},
        {"source": "tier", "insider": "loyalty_tier", "custom": True},
    ],
    "events": [
        {
            "source": "purchase",
            "insider": "purchase",
            "params": [
                {"source": "order_id", "insider": "event_group_id"},
                {"source": "currency", "insider": "currency"},
                {"source": "amount", "insider": "unit_sale_price"},
            ],
        }
    ],
}


def _customer(i: int) -> dict[str, Any]:
    return {
        "id": f"C-{i}",
        "name": f"Customer {i}",
        "attributes": {
            "email": f"customer{i}@example.com",
            "loyalty_number": f"L{i:08d}",
            "first_name": "Ann",
            "last_name": "Lee",
            "birthday": "1990-05-17",
            "country": "gb",
            "email_optin": "yes",
            "tier": "Gold",
        },
        "events": [
            {
                "name": "purchase",
                "timestamp": "2024-05-01T10:00:00+02:00",
                "params": {"order_id": f"O-{i}", "currency": "EUR", "amount": "12.50"},
            }
        ],
    }


def test_mapping_throughput(capsys: pytest.CaptureFixture[str]) -> None:
    mapping = load_mapping(DOCUMENT)
    customers = [_customer(i) for i in range(20_000)]
    results = [map_customer(mapping, customer) for customer in customers]  # warm-up and correctness
    assert all(isinstance(result, MappedCustomer) for result in results)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for customer in customers:
            map_customer(mapping, customer)
        best = min(best, time.perf_counter() - started)
    rate = len(customers) / best
    with capsys.disabled():
        print(f"\n[insider mapping] {rate:,.0f} customers/s (best of 3 x {len(customers):,}; target 50,000/s)")
