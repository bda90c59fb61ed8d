"""Signals and commands as the API and the CLI build them (no Kafka)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from fillstream import control
from fillstream.schemas.models import CommandKind

AT = control.Stamp("0123456789abcdef0123456789abcdef", 1_723_161_300_000_000)
MARKET = {
    "strategy_id": "s-1",
    "account_id": "acct-1",
    "symbol": "BTC/USDT",
    "side": "buy",
    "quantity": "0.25",
    "order_type": "market",
}


def test_a_draft_gets_a_readable_id_and_the_time_of_sending():
    signal = control.signal_from(control.SignalDraft.model_validate(MARKET), AT)
    assert signal.signal_id == "api-0123456789abcdef"
    assert signal.created_at == 1_723_161_300_000_000
    assert signal.quantity == Decimal("0.25")
    # Short and plain, so the pipeline's order id is the readable form.
    assert control.order_id_of(signal) == "o-api-0123456789abcdef"


def test_a_producers_own_id_and_time_are_kept():
    draft = control.SignalDraft.model_validate(
        {**MARKET, "signal_id": "sig-7", "created_at": 1_700_000_000_000_000}
    )
    signal = control.signal_from(draft, AT)
    assert (signal.signal_id, signal.created_at) == ("sig-7", 1_700_000_000_000_000)
    assert control.order_id_of(signal) == "o-sig-7"


def test_a_draft_keeps_the_contracts_rules():
    with pytest.raises(ValidationError, match="a limit order needs a price"):
        control.SignalDraft.model_validate({**MARKET, "order_type": "limit"})


def test_absurd_exponents_are_refused_before_they_reach_the_wire():
    with pytest.raises(ValidationError, match="quantity is out of range"):
        control.SignalDraft.model_validate({**MARKET, "quantity": "1e999999"})


def test_direct_execution_forces_the_direct_algorithm():
    draft = control.SignalDraft.model_validate({**MARKET, "algorithm": "twap"})
    assert control.signal_from(control.direct(draft), AT).algorithm == "direct"


def test_a_cancel_targets_the_order_and_is_keyed_by_its_symbol():
    command = control.cancel_command("o-sig-7", "BTC/USDT", AT, "api", "too slow")
    assert command.kind is CommandKind.CANCEL
    assert (command.order_id, command.symbol, command.reason) == ("o-sig-7", "BTC/USDT", "too slow")
    assert command.command_id == f"o-sig-7:cancel:{AT.id}"
    assert command.created_at == AT.now_us


def test_a_modify_needs_a_quantity_or_a_price():
    with pytest.raises(ValidationError, match="needs a new quantity or price"):
        control.modify_command("o-1", "IBM", AT, "api")
    command = control.modify_command("o-1", "IBM", AT, "api", price=Decimal("186.5"))
    assert (command.kind, command.price, command.quantity) == (
        CommandKind.MODIFY,
        Decimal("186.5"),
        None,
    )


def test_account_commands_and_the_kill_switch():
    pause = control.account_command(CommandKind.PAUSE, "acct-2", AT, "cli")
    assert (pause.kind, pause.account_id, pause.symbol) == (CommandKind.PAUSE, "acct-2", None)
    with pytest.raises(ValueError, match="pause or resume"):
        control.account_command(CommandKind.CANCEL, "acct-2", AT, "cli")
    everyone = control.kill_switch_command(True, None, AT, "cli")
    assert (everyone.kind, everyone.account_id) == (CommandKind.KILL_SWITCH, None)
    released = control.kill_switch_command(False, "acct-2", AT, "cli")
    assert (released.kind, released.account_id) == (CommandKind.RELEASE_KILL_SWITCH, "acct-2")


def test_a_jsonl_file_names_each_bad_line_and_keeps_the_good_ones():
    text = (
        '{"signal_id": "a", "strategy_id": "s", "account_id": "x", "symbol": "IBM",'
        ' "side": "sell", "quantity": 100, "order_type": "market"}\n'
        "\n"
        "{not json\n"
        '{"strategy_id": "s", "account_id": "x", "symbol": "IBM", "side": "sell",'
        ' "quantity": 1, "order_type": "market"}\n'
        '"a string"\n'
    )
    signals, problems = control.parse_signal_file(text, csv_format=False, at=AT)
    assert [(line, s.signal_id, s.quantity) for line, s in signals] == [(1, "a", Decimal(100))]
    assert signals[0][1].created_at == AT.now_us
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 4", "line 5"]
    assert "signal_id: Field required" in problems[1]


def test_a_csv_file_takes_empty_cells_as_absent_and_parameters_as_json():
    text = (
        "signal_id,strategy_id,account_id,symbol,side,quantity,order_type,price,"
        "algorithm,algorithm_parameters\n"
        's-1,s,x,BTC/USDT,buy,0.5,limit,61000.5,twap,"{""duration_seconds"": 60}"\n'
        "s-2,s,x,BTC/USDT,sell,0.1,market,,,\n"
        "s-3,s,x,BTC/USDT,sell,-1,market,,,\n"
        's-4,s,x,BTC/USDT,sell,1,market,,twap,"{broken"\n'
    )
    signals, problems = control.parse_signal_file(text, csv_format=True, at=AT)
    first, second = signals[0][1], signals[1][1]
    assert (first.price, first.algorithm_parameters) == (
        Decimal("61000.5"),
        {"duration_seconds": "60"},
    )
    assert (second.price, second.algorithm) == (None, None)
    assert [line for line, _ in signals] == [2, 3]
    assert problems[0].startswith("line 4: quantity:")
    assert problems[1].startswith("line 5: algorithm_parameters is not JSON")
