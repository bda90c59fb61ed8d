"""The engine configuration file: the shipped default loads, mistakes are named."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fillstream.config import ConfigError, load_config


def test_the_shipped_default_describes_the_demo_venues():
    config = load_config()
    assert config.venues["binance"].taker_fee == Decimal("0.001")
    assert config.instruments.get("binance", "BTC/USDT").tick_size == Decimal("0.01")
    assert "nyse" in config.instruments.venues_for("IBM")
    assert config.risk.limits_for("anyone", "BTC/USDT").max_order_quantity == Decimal("10")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[venue]\nname = 'x'\n", "unknown section(s): venue"),
        (
            "[[instruments]]\nvenue = 'mars'\nsymbol = 'X'\ntick_size = '1'\nlot_size = '1'\n",
            "names venue 'mars', which no [[venues]] entry defines",
        ),
        ("[[venues]]\nname = 'a'\n[[venues]]\nname = 'a'\n", "venue 'a' is defined twice"),
        ("[[venues]]\nmaker_fee = '0.1'\n", "missing field 'name'"),
        ("[risk.defaults]\nmax_order_quantitiy = '1'\n", "unknown field(s) max_order_quantitiy"),
        ("[[venues]\n", "Expected"),
    ],
)
def test_mistakes_name_the_file_and_the_entry(tmp_path, text, message):
    path = tmp_path / "engine.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(path) in str(raised.value)
    assert message in str(raised.value)


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(ConfigError, match="no configuration file at"):
        load_config(tmp_path / "nope.toml")
