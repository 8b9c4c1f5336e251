"""The local embedded platform: Apache Kafka from Maven Central jars and the schema registry."""
