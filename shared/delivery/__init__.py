"""Delivery bookkeeping of both platforms: batches, delivery records, queue messages, retry policy, status routes."""
