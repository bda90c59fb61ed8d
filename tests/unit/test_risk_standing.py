"""Risk publishes each configured account's state on `accounts.state`: positions, exposure,
PnL, daily PnL, drawdown and status, after each change; nothing for other accounts.

Numbers by hand: BTC/USDT reference 60,000 (mid of 59,990 / 60,010) unless a test moves it.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from fillstream.domain.instruments import Instrument, InstrumentBook
from fillstream.schemas.models import (
    AccountStatus,
    Command,
    CommandKind,
    ExecutionReport,
    ReferencePrice,
    Side,
    Signal,
)
from fillstream.schemas.topics import partition_of
from fillstream.streams.memory import Memory
from fillstream.streams.risk import RiskConfig
from fillstream.streams.risk.state import DAY_US
from fillstream.streams.stages.risk import RiskStage

D = Decimal
T = 1_723_161_600_000_000 + 12 * 3_600_000_000  # 2024-08-09T12:00:00Z
CONFIG = RiskConfig(
    InstrumentBook.of([Instrument("binance", "BTC/USDT", D("0.01"), D("0.001"))]),
    tracked=frozenset({"fund-a", "fund-p"}),
    paused_at_start=frozenset({"fund-p"}),
)


def price(mid: str, at: int) -> ReferencePrice:
    return ReferencePrice(
        symbol="BTC/USDT", venue="binance", bid_price=D(mid), ask_price=D(mid), timestamp=at
    )


def fill(
    account: str, side: Side, quantity: str, at_price: str, n: int, at: int
) -> ExecutionReport:
    return ExecutionReport(
        report_id=f"r-{n}",
        order_id=f"o-{n}",
        signal_id=f"s-{n}",
        slice_id=f"o-{n}-1",
        account_id=account,
        symbol="BTC/USDT",
        venue="binance",
        side=side,
        exec_type="fill",
        status="filled",
        quantity=D(quantity),
        last_quantity=D(quantity),
        last_price=D(at_price),
        filled_quantity=D(quantity),
        leaves_quantity=D(0),
        commission=D(0),
        timestamp=at,
    )


def signal(account: str, signal_id: str, at: int) -> Signal:
    return Signal(
        signal_id=signal_id,
        strategy_id="s",
        account_id=account,
        symbol="BTC/USDT",
        side=Side.BUY,
        quantity=D(1),
        order_type="limit",
        price=D(59000),
        created_at=at,
    )


def test_fills_move_pnl_daily_pnl_and_drawdown():
    stage = RiskStage(CONFIG)
    stage.handle("market.reference", price("60000", T), T)
    # buy 2 at 60,000: cash -120,000, position 2 at 60,000: PnL 0; exposure 120,000
    (first,) = stage.handle("fills.accounts", fill("fund-a", Side.BUY, "2", "60000", 1, T), T)
    assert first.topic == "accounts.state"
    state = first.record
    assert (state.pnl, state.daily_pnl, state.drawdown, state.exposure) == (0, 0, 0, 120000)
    assert state.positions == {"BTC/USDT": 2}
    # the price rises to 61,000, then a sell of 1 at 61,000: cash -59,000 + 1 x 61,000 = 2,000
    stage.handle("market.reference", price("61000", T + 1), T + 1)
    (up,) = stage.handle("fills.accounts", fill("fund-a", Side.SELL, "1", "61000", 2, T + 1), T + 1)
    assert (up.record.pnl, up.record.daily_pnl, up.record.drawdown) == (2000, 2000, 0)
    # next day, at 58,000: PnL -59,000 + 58,000 = -1,000; the day opened at 2,000: -3,000;
    # the peak was 2,000: drawdown 3,000. A limit buy of 1 at 59,000 works: exposure as the
    # exposure limits measure it, max(|1 + 1|, |1 - 0|) = 2 BTC at the reference 58,000 =
    # 116,000
    tomorrow = T + DAY_US
    stage.handle("market.reference", price("58000", tomorrow), tomorrow)
    emits = stage.handle("signals", signal("fund-a", "s-3", tomorrow).model_dump(), tomorrow)
    assert [emit.topic for emit in emits] == ["orders.approved", "accounts.state"]
    down = emits[1].record
    assert (down.pnl, down.daily_pnl, down.drawdown) == (-1000, -3000, 3000)
    assert (down.exposure, down.working_orders) == (116000, 1)


def test_only_configured_accounts_are_published():
    stage = RiskStage(CONFIG)
    assert stage.handle("fills.accounts", fill("other", Side.BUY, "1", "60000", 1, T), T) == []


def test_status_follows_pause_resume_and_kill_switch_and_a_paused_start():
    stage = RiskStage(CONFIG)

    def command(kind: CommandKind, account: str | None, n: int) -> list:
        built = Command(command_id=f"c-{n}", kind=kind, account_id=account, created_at=T + n)
        return [(e.record.account_id, e.record.status) for e in stage.handle("commands", built, T)]

    assert command(CommandKind.PAUSE, "fund-a", 1) == [("fund-a", AccountStatus.PAUSED)]
    assert command(CommandKind.RESUME, "fund-a", 2) == [("fund-a", AccountStatus.ACTIVE)]
    # fund-p starts paused (risk refuses it) until its resume
    refused = stage.handle("signals", signal("fund-p", "s-1", T).model_dump(), T)
    assert refused[0].topic == "orders.rejected"
    assert command(CommandKind.RESUME, "fund-p", 3) == [("fund-p", AccountStatus.ACTIVE)]
    approved = stage.handle("signals", signal("fund-p", "s-2", T).model_dump(), T)
    assert approved[0].topic == "orders.approved"
    # a global kill switch halts every configured account, in order
    assert command(CommandKind.KILL_SWITCH, None, 4) == [
        ("fund-a", AccountStatus.HALTED),
        ("fund-p", AccountStatus.HALTED),
    ]


def test_an_account_command_copied_to_every_partition_is_answered_by_the_accounts_own():
    # Live, risk runs a stage per partition of 6 and the command reaches all of them; only
    # the partition fund-a's key hashes to holds its book and answers for it.
    stages = [RiskStage(CONFIG) for _ in range(6)]
    for number, stage in enumerate(stages):
        stage.placed(number, 6)
    pause = Command(command_id="c-1", kind=CommandKind.PAUSE, account_id="fund-a", created_at=T)
    answers = {n: stage.handle("commands", pause, T) for n, stage in enumerate(stages)}
    assert {n for n, emits in answers.items() if emits} == {partition_of(b"fund-a", 6)}
    kill = Command(command_id="c-2", kind=CommandKind.KILL_SWITCH, created_at=T + 1)
    halted = [e.record.account_id for stage in stages for e in stage.handle("commands", kill, T)]
    assert sorted(halted) == ["fund-a", "fund-p"]  # each configured account once


def test_the_book_survives_a_restore():
    stage = RiskStage(CONFIG)
    stage.handle("market.reference", price("60000", T), T)
    stage.handle("fills.accounts", fill("fund-a", Side.BUY, "1", "60000", 1, T), T)
    restored = RiskStage(replace(CONFIG))
    Memory(restored).restore(Memory(stage).changes()[0])
    assert restored.books == stage.books
