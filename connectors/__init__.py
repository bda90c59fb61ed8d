"""The edges: venues and market-data feeds."""
