"""Stream processors (faust-streaming): validate, normalise, deduplicate, join."""
