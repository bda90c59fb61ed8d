"""The TCA report: one self-contained page from a small export built by hand."""

from __future__ import annotations

import base64
import re
from decimal import Decimal as D
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fillstream.analytics.export import parquet_path, records_frame
from fillstream.analytics.report import ReportInputs, render_report, write_report
from fillstream.cli import app
from fillstream.schemas.models import ExecutionReport, Quote, Slice, TcaResult

T0 = 1723161300_000000  # 2024-08-08 23:55:00 UTC
SECOND = 1_000_000


def tca(order_id: str, cost_bps: float, **fields) -> dict:
    record = {
        "order_id": order_id,
        "signal_id": f"s-{order_id}",
        "strategy_id": "momentum",
        "account_id": "acct-1",
        "symbol": "BTC/USDT",
        "side": "buy",
        "algorithm": "twap",
        "venues": ["binance"],
        "status": "cancelled",
        "quantity": D("1"),
        "filled_quantity": D("0.75"),
        "fill_ratio": 0.75,
        "decision_price": D("61249.00"),
        "arrival_price": D("61250.005"),
        "fees": D("4.59"),
        "total_cost_bps": cost_bps,
        "arrival_slippage_bps": 0.4,
        "duration_us": 30 * SECOND,
        "completed_at": T0 + 30 * SECOND,
    }
    return TcaResult.model_validate(record | fields).model_dump()


def slices(order_id: str, count: int) -> list[dict]:
    return [
        Slice(
            slice_id=f"{order_id}-{n}",
            order_id=order_id,
            signal_id=f"s-{order_id}",
            account_id="acct-1",
            symbol="BTC/USDT",
            venue="binance",
            action="new",
            sequence=n,
            side="buy",
            quantity=D("0.25"),
            order_type="market",
            created_at=T0 + n * 10 * SECOND,
        ).model_dump()
        for n in range(count)
    ]


def fill(order_id: str, n: int, price: str, exec_type: str = "partial_fill") -> dict:
    return ExecutionReport(
        report_id=f"r-{order_id}-{n}",
        order_id=order_id,
        signal_id=f"s-{order_id}",
        slice_id=f"{order_id}-{n}",
        account_id="acct-1",
        symbol="BTC/USDT",
        venue="binance",
        side="buy",
        exec_type=exec_type,
        status="filled" if exec_type == "fill" else "accepted",
        quantity=D("0.25"),
        last_quantity=D("0") if exec_type == "ack" else D("0.25"),
        last_price=None if exec_type == "ack" else D(price),
        filled_quantity=D("0.25"),
        leaves_quantity=D("0"),
        commission=D("1.53"),
        timestamp=T0 + n * 10 * SECOND + SECOND,
    ).model_dump()


def quotes() -> list[dict]:
    return [
        Quote(
            symbol="BTC/USDT",
            venue="binance",
            bid_price=D("61250.00") + second,
            bid_size=D("1"),
            ask_price=D("61250.01") + second,
            ask_size=D("1"),
            timestamp=T0 + second * SECOND,
        ).model_dump()
        for second in range(-5, 40)
    ]


def write_export(directory: Path, tca_rows: list[dict]) -> Path:
    directory.mkdir(exist_ok=True)
    order_ids = [row["order_id"] for row in tca_rows]
    topics = {
        "tca": ("TcaResult", tca_rows),
        "slices": ("Slice", [s for order in order_ids for s in slices(order, 4)]),
        "fills": (
            "ExecutionReport",
            [
                record
                for order in order_ids
                for record in (
                    fill(order, 0, "0", "ack"),
                    fill(order, 0, "61251.00"),
                    fill(order, 1, "61262.50"),
                    fill(order, 2, "61271.00", "fill"),
                )
            ],
        ),
        "market.quotes": ("Quote", quotes()),
    }
    for topic, (record, rows) in topics.items():
        records_frame(record, rows).write_parquet(parquet_path(directory, topic))
    return directory


def images(page: str) -> list[bytes]:
    return [
        base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    ]


def test_the_report_is_one_self_contained_page_with_every_section(tmp_path):
    export = write_export(tmp_path / "export", [tca("o-1", 12.5), tca("o-2", -3.0, venues=[])])
    out = write_report(export, tmp_path / "report.html")
    page = out.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<script" not in page and "<link" not in page and "@import" not in page
    for heading in (
        "Summary",
        "By day",
        "By venue",
        "By algorithm",
        "By strategy",
        "Cost distributions",
        "Best and worst orders",
        "Fills against the market",
        "Schedule against execution",
    ):
        assert f">{heading}<" in page, heading
    # two distributions, then a fills chart and a schedule chart per order
    assert page.count("<figure") == 2 + 2 * 2
    pngs = images(page)
    assert len(pngs) == 6 and all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in pngs)
    assert "o-1: buy 1 BTC/USDT, twap, cancelled, 12.50 bps" in page


def test_beyond_max_orders_the_worst_and_the_best_are_charted(tmp_path):
    rows = [tca(f"o-{n}", float(n)) for n in range(1, 6)]
    inputs = ReportInputs.read(write_export(tmp_path / "export", rows))
    page = render_report(inputs, max_orders=2)
    assert page.count("<figure") == 2 + 2 * 2
    captions = re.findall(r"<figcaption>(o-\d):", page)
    assert captions == ["o-5", "o-1", "o-5", "o-1"]
    assert "2 of 5 orders: the worst and the best" in page


def test_missing_optional_topics_still_render(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    records_frame("TcaResult", [tca("o-1", 1.0)]).write_parquet(parquet_path(export, "tca"))
    page = render_report(ReportInputs.read(export))
    assert page.count("<figure") == 4


def test_without_an_export_the_command_says_how_to_make_one(tmp_path):
    result = CliRunner().invoke(
        app, ["tca", "report", "--data", str(tmp_path), "--out", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 2
    assert "fillstream export" in result.output
    with pytest.raises(FileNotFoundError):
        ReportInputs.read(tmp_path)


def test_the_report_command_writes_the_page(tmp_path):
    export = write_export(tmp_path / "export", [tca("o-1", 12.5)])
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["tca", "report", "--data", str(export), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("<!DOCTYPE html>")
