"""A schema registry speaking the Confluent Schema Registry REST API, stored in a compacted Kafka topic."""
