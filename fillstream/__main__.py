"""`python -m fillstream …` is the `fillstream` command (the pipeline starts processors so)."""

from fillstream.cli import app

app()
