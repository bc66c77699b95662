"""valmius: response-time analytics for rescue services."""

__version__ = "0.1.0"
