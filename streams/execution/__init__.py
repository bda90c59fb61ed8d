"""Execution: turning routed parent orders into slices for venues, and following them."""
