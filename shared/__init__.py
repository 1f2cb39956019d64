"""The app's package: settings, storage, upstream clients and the publishing and sync services."""

__version__ = "0.1.0"
