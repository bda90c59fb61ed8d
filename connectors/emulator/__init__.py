"""A local exchange emulator speaking a subset of Binance spot's REST API, for tests and the demo."""
