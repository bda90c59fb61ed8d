"""The contracts: Avro schemas, their pydantic models, serde and the topic catalog."""

from pathlib import Path


def examples_dir() -> Path:
    """Example records for every topic, one JSON-lines file per topic."""
    return Path(__file__).parent / "examples"
