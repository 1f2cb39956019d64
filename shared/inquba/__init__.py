"""inQuba Journey: the wire format, the shared token cache, publishing with retries, and the HTTP and queue handlers."""
