"""The ops commands' answers when the input or the environment is wrong (no broker needed)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fillstream.cli import app

VALID = (
    '{"signal_id": "s-1", "strategy_id": "s", "account_id": "x", "symbol": "IBM",'
    ' "side": "buy", "quantity": "10", "order_type": "market"}\n'
)


@pytest.fixture
def no_broker(monkeypatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")  # nothing listens on port 1


def test_strict_publishing_names_the_invalid_lines_and_sends_nothing(no_broker, tmp_path):
    source = tmp_path / "signals.jsonl"
    source.write_text(VALID + '{"signal_id": "s-2"}\n{oops\n')
    result = CliRunner().invoke(app, ["signals", "publish", str(source), "--strict"])
    assert result.exit_code == 1
    assert "line 2: strategy_id: Field required" in result.output
    assert "line 3: invalid JSON" in result.output
    assert "nothing was sent" in result.output
    assert "No Kafka broker" not in result.output  # refused before any broker is asked


def test_a_csv_line_with_more_cells_than_the_header_is_named(no_broker, tmp_path):
    source = tmp_path / "signals.csv"
    source.write_text("signal_id,strategy_id\ns-1,s,extra\n")
    result = CliRunner().invoke(app, ["signals", "publish", str(source), "--strict"])
    assert result.exit_code == 1
    assert "line 2: more cells than the header names" in result.output


def test_publishing_without_a_broker_says_how_to_get_one(no_broker, tmp_path):
    source = tmp_path / "signals.jsonl"
    source.write_text(VALID)
    result = CliRunner().invoke(app, ["signals", "publish", str(source)])
    assert result.exit_code == 2
    assert "No Kafka broker answers at 127.0.0.1:1" in result.output


def test_the_kill_switch_takes_on_or_off(no_broker):
    result = CliRunner().invoke(app, ["kill-switch", "maybe"])
    assert result.exit_code == 2
    assert "kill-switch takes on or off, not 'maybe'" in result.output


def test_the_api_needs_keys_before_anything_else(no_broker, monkeypatch):
    monkeypatch.delenv("FILLSTREAM_API_KEYS", raising=False)
    result = CliRunner().invoke(app, ["api", "--port", "0"])
    assert result.exit_code == 2
    assert "set FILLSTREAM_API_KEYS" in result.output
    monkeypatch.setenv("FILLSTREAM_API_KEYS", "short:admin")
    result = CliRunner().invoke(app, ["api"])
    assert result.exit_code == 2 and "at least 16 characters" in result.output
    assert "short" not in result.output.replace("short:", "")  # the key is never echoed


def test_listing_orders_refuses_a_limit_out_of_range(no_broker):
    result = CliRunner().invoke(app, ["orders", "list", "--limit", "0"])
    assert result.exit_code == 2
    assert "--limit must be from 1 to 500" in result.output


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (["signals", "publish", "--help"], "--strict"),
        (["orders", "--help"], "cancel"),
        (["accounts", "--help"], "resume"),
        (["topics", "inspect", "--help"], "--last"),
        (["api", "--help"], "FILLSTREAM_API_KEYS"),
    ],
)
def test_the_ops_commands_are_registered(command, shown):
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0 and shown in result.output


def test_the_status_of_an_account_the_configuration_does_not_declare(no_broker):
    result = CliRunner().invoke(app, ["accounts", "status", "nobody"])
    assert result.exit_code == 1
    assert "no account 'nobody' among the configuration's accounts" in result.output


def test_an_account_correlated_with_itself_is_refused(no_broker):
    result = CliRunner().invoke(app, ["accounts", "correlate", "a", "a", "0.9"])
    assert result.exit_code == 2
    assert "two different accounts" in result.output
