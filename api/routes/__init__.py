"""The REST API's routes, a router per area; `fillstream.api.app` assembles them."""
