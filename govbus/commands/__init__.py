"""Bodies of the govbus CLI commands, one module per group."""
