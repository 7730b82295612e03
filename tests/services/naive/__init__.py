"""A service with no resilience mechanism at all, and a contract that claims them all anyway.

gauntlet must fail every claim of ``contract.toml`` here: what the verdicts say about a service
that only works on a good day.
"""
