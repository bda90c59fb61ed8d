"""The broker: a local Apache Kafka (KRaft) runner and topic provisioning."""
