"""The catalogue of shared data items and govbus's schema registry."""
