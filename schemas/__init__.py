"""The contracts: Avro schemas, their pydantic models, serde and the topic catalog."""
