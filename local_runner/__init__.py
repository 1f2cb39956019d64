"""A local stand-in for the Azure Functions host (Core Tools `func start`) for Python v2 apps.

Generic: it knows Azure Functions, not any particular app. See README.md. The package imports nothing
itself, so that indexing an app (`local_runner.app_loader`) loads only what the worker would.
"""
