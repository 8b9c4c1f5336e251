"""Stream processors on Quix Streams with Kafka transactions (streams/engine.py): normalise and
validate department dialects, deduplicate, join items into profiles."""
