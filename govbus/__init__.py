"""govbus: an event-streaming integration bus for sharing government information."""

__version__ = "0.1.0"
