"""The broker and the Kafka plumbing: a local Apache Kafka (KRaft) runner, topic provisioning,
typed record I/O on catalog topics, Kafka refusals explained, and the CPU meter."""
