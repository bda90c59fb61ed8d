"""Execution algorithms: each a pure core that says how much of a parent should be working now."""
