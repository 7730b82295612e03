"""The reference stack gauntlet's checks are aimed at: ``stack.api`` and ``stack.upstream``.

See stack/README.md for how to run it, its environment and its broken variants.
"""
