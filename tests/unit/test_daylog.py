"""Daily transaction logs: records around midnight UTC, lines and files worked out by hand."""

from __future__ import annotations

from decimal import Decimal as D

from fillstream.analytics.daylog import (
    day_lines,
    day_text,
    utc_day,
    write_day_logs,
    write_topic_log,
)
from fillstream.schemas.topics import find

MIDNIGHT = 1723161600_000000  # 2024-08-09T00:00:00Z in µs

# Fills a microsecond either side of midnight, and at it.
BEFORE = {  # 23:59:59.999999 on the 8th
    "report_id": "r-1",
    "price": D("61829.9"),
    "quantity": D("0.010"),
    "timestamp": MIDNIGHT - 1,
}
AT = {"report_id": "r-2", "price": D("61830.1"), "quantity": D("0.005"), "timestamp": MIDNIGHT}
AFTER = {"report_id": "r-0", "price": D("61831"), "quantity": D("1E-3"), "timestamp": MIDNIGHT + 1}

LINE_BEFORE = (
    '{"report_id":"r-1","price":"61829.9","quantity":"0.010","timestamp":1723161599999999}'
)
LINE_AT = '{"report_id":"r-2","price":"61830.1","quantity":"0.005","timestamp":1723161600000000}'
LINE_AFTER = '{"report_id":"r-0","price":"61831","quantity":"0.001","timestamp":1723161600000001}'


def test_a_day_is_the_utc_calendar_day_of_the_event_time() -> None:
    assert utc_day(MIDNIGHT - 1) == "2024-08-08"
    assert utc_day(MIDNIGHT) == "2024-08-09"
    assert utc_day(0) == "1970-01-01"


def test_records_spanning_midnight_go_to_two_days_in_event_time_order_each_once() -> None:
    days = day_lines("fills", [AFTER, AT, BEFORE, AT])  # read out of order, AT delivered twice
    assert {day: day_text(lines) for day, lines in days.items()} == {
        "2024-08-08": LINE_BEFORE + "\n",
        "2024-08-09": LINE_AT + "\n" + LINE_AFTER + "\n",
    }


def test_lines_of_the_same_time_are_ordered_by_their_text() -> None:
    same = [{**AT, "report_id": "r-9"}, {**AT, "report_id": "r-10"}]
    (lines,) = day_lines("fills", same).values()
    assert [line.split(",")[0] for line in day_text(lines).splitlines()] == [
        '{"report_id":"r-10"',
        '{"report_id":"r-9"',
    ]


def test_a_rerun_merges_into_the_day_files_and_leaves_an_unchanged_one_untouched(tmp_path):
    spec = find("fills")
    folder = write_day_logs(spec, [AT, BEFORE], tmp_path)
    assert folder == tmp_path / "fills"
    assert sorted(path.name for path in folder.iterdir()) == [
        "2024-08-08.jsonl",
        "2024-08-09.jsonl",
    ]
    eighth, ninth = folder / "2024-08-08.jsonl", folder / "2024-08-09.jsonl"
    assert eighth.read_text() == LINE_BEFORE + "\n"
    written = eighth.stat().st_mtime_ns

    # The log has lost BEFORE's day to retention and gained AFTER: the 8th stays as it was,
    # the 9th keeps AT and gains AFTER.
    write_day_logs(spec, [AFTER], tmp_path)
    assert eighth.stat().st_mtime_ns == written
    assert ninth.read_text() == LINE_AT + "\n" + LINE_AFTER + "\n"

    write_day_logs(spec, [BEFORE, AT, AFTER], tmp_path)  # the same again: nothing changes
    assert eighth.stat().st_mtime_ns == written
    assert ninth.read_text() == LINE_AT + "\n" + LINE_AFTER + "\n"
    assert not list(folder.glob("*.partial"))


def test_the_command_refuses_day_files_it_cannot_write() -> None:
    from typer.testing import CliRunner

    from fillstream.cli import app

    parquet = CliRunner().invoke(app, ["export", "--daily"], env={"COLUMNS": "200"})
    assert parquet.exit_code == 2
    assert "day files are JSON lines: add --format jsonl" in parquet.output
    untimed = ["export", "deadletter", "--format", "jsonl", "--daily"]
    refused = CliRunner().invoke(app, untimed, env={"COLUMNS": "200"})
    assert refused.exit_code == 2
    assert "no event time to date records by: deadletter" in refused.output


def test_without_days_a_topic_s_lines_go_to_one_file_in_event_time_order(tmp_path) -> None:
    path = write_topic_log(find("fills"), [AFTER, BEFORE, AT], tmp_path)
    assert path == tmp_path / "fills.jsonl"
    assert path.read_text() == f"{LINE_BEFORE}\n{LINE_AT}\n{LINE_AFTER}\n"
