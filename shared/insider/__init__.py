"""Insider UCD: mapping (document, values, mapper, store), upsert packing, sync, the queue drain, 403 pause, routes."""
