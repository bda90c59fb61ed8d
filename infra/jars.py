"""What the local broker needs before it can run: a JDK 17+, and Apache Kafka's jars, fetched
once from Maven Central with Maven into the user's cache dir (`ensure_jars`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from fillstream import settings

__all__ = [
    "ASSETS",
    "KAFKA_VERSION",
    "MIN_JAVA",
    "NO_BROKER_HINT",
    "BrokerSetupError",
    "ensure_jars",
    "jars_dir",
    "java",
    "last_lines",
]

# 4.4.0 is the newest kafka_2.13 on Maven Central, but its POM depends on
# org.apache.kafka:kafka-tools-api:4.4.0, which Central does not have (404), so it cannot
# resolve. 4.3.1 is the newest 4.x whose whole dependency tree resolves.
KAFKA_VERSION = "4.3.1"
MIN_JAVA = 17

ASSETS = Path(__file__).parent / "kafka"
"""pom.xml and log4j2.yaml, shipped as package data. A real directory (not a zip member)
because `mvn -f` and the JVM's `-Dlog4j2.configurationFile` both need a file path."""

NO_BROKER_HINT = "or set KAFKA_BOOTSTRAP_SERVERS to an existing Kafka cluster"


class BrokerSetupError(RuntimeError):
    """The local broker cannot be fetched or started; the message says what to do about it."""


# -- prerequisites -------------------------------------------------------------------------


def java() -> str:
    """The `java` to run Kafka with: `$JAVA_HOME/bin/java`, else the one on PATH (17+)."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if java is None or not Path(java).is_file():
        raise BrokerSetupError(
            "java not found: install a Java 17+ JDK (e.g. `apt install openjdk-17-jdk-headless`"
            f" or `brew install openjdk@17`) {NO_BROKER_HINT}"
        )
    # `java -version` writes e.g. `openjdk version "17.0.15" 2025-04-15` (or "1.8.0_292") to
    # stderr; a too-old JVM otherwise fails later with an obscure UnsupportedClassVersionError.
    banner = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    found = re.search(r'version "(?:1\.)?(\d+)', banner)
    if found is None or int(found.group(1)) < MIN_JAVA:
        shown = banner.splitlines()[0] if banner else "unknown version"
        raise BrokerSetupError(
            f"Kafka {KAFKA_VERSION} needs Java {MIN_JAVA}+, but {java} is {shown!r}: install a"
            " Java 17+ JDK (e.g. `apt install openjdk-17-jdk-headless`) and put it on PATH or"
            f" in JAVA_HOME, {NO_BROKER_HINT}"
        )
    return java


def _mvn() -> str:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerSetupError(
            "mvn not found: install Maven 3.6+ (e.g. `apt install maven` or `brew install"
            " maven`), needed once to fetch the Kafka jars from Maven Central,"
            f" {NO_BROKER_HINT}"
        )
    return mvn


# -- jars ------------------------------------------------------------------------------------


def jars_dir(cache: Path | None = None) -> Path:
    """Where the broker's jars live once fetched: `<cache>/kafka-<version>/lib`."""
    return (cache or settings.cache_dir()) / f"kafka-{KAFKA_VERSION}" / "lib"


def ensure_jars(cache: Path | None = None) -> Path:
    """Return the lib dir holding Kafka's runtime classpath, fetching it with Maven if absent.

    Maven copies into a temporary sibling which is then renamed into place, so an interrupted
    fetch never leaves a half-filled lib dir that a later call would trust. Once the lib dir
    exists this returns at once and needs neither Maven nor the network.
    """
    lib = jars_dir(cache)
    if lib.is_dir():
        return lib
    mvn = _mvn()
    lib.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix="lib.partial-", dir=lib.parent))
    try:
        fetched = subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(ASSETS / "pom.xml"),
                f"-Dkafka.version={KAFKA_VERSION}",
                "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={partial}",
            ],
            capture_output=True,
            text=True,
        )
        if fetched.returncode != 0:
            raise BrokerSetupError(
                f"fetching the Kafka {KAFKA_VERSION} jars from Maven Central failed (check the"
                " network or a proxy in ~/.m2/settings.xml):\n"
                + last_lines(fetched.stdout + fetched.stderr)
            )
        try:
            partial.rename(lib)
        except OSError:
            if not lib.is_dir():  # a concurrent fetch that won the rename is fine
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return lib


def last_lines(text: str, lines: int = 40) -> str:
    """The end of a tool's or the broker's output, for an error that shows what it said."""
    return "\n".join(text.splitlines()[-lines:])
