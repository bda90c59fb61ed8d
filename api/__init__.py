"""The REST API: producers, analysts and ops over HTTP."""
