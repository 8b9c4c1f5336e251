"""Consumer runtime: at-least-once consumption that commits only after a record is handled."""
