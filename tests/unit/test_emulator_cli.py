"""`fillstream emulator serve` refuses to start without its credentials, and says which."""

from __future__ import annotations

from typer.testing import CliRunner

from fillstream.cli import app


def test_serve_names_the_missing_credential_variables(monkeypatch):
    monkeypatch.delenv("EMULATOR_API_KEY", raising=False)
    monkeypatch.delenv("EMULATOR_API_SECRET", raising=False)
    result = CliRunner().invoke(app, ["emulator", "serve", "--port", "0"])
    assert result.exit_code == 2
    assert "set EMULATOR_API_KEY and EMULATOR_API_SECRET" in result.output


def test_serve_refuses_an_unknown_venue(monkeypatch):
    monkeypatch.setenv("EMULATOR_API_KEY", "key")
    monkeypatch.setenv("EMULATOR_API_SECRET", "not-shown")
    result = CliRunner().invoke(app, ["emulator", "serve", "--venue", "kraken"])
    assert result.exit_code == 2
    assert "no venue 'kraken'" in result.output
    assert "not-shown" not in result.output
