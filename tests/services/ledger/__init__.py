"""A "foreign" service for gauntlet's tests: Starlette + asyncpg + pybreaker + tenacity + limits.

Nothing here shares a name with the reference stack (``stack/``): its own routes, headers,
metric names, table and environment variables, declared in ``contract.toml`` beside it.
"""
