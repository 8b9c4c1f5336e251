"""Source and sink connectors: how records enter govbus and reach subscribing systems."""
