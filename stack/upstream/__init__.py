"""A slow, deterministic stand-in for an AI service (``python -m stack.upstream``)."""
