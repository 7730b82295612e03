"""The reference stack gauntlet's checks are aimed at: ``stack.api`` and ``stack.upstream``,
with ``stack.gateway`` (nginx) optionally in front.

See stack/README.md for how to run it, its environment and its broken variants.
"""
