"""Execution-quality analysis and reporting for analysts."""
