"""fillstream: an order-execution engine built as a stream-processing pipeline on Apache Kafka."""

__version__ = "0.1.0"
