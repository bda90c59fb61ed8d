"""The trading vocabulary every floor above speaks: instruments and their rules, venues, order
and report ids, execution-report builders, and when each topic's records happened."""
