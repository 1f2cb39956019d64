"""The HTTP surface: problem+json errors, response shaping, request parsing, API models and the OpenAPI document."""
