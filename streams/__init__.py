"""The stateful stream processors and their pure cores."""
