"""The hardened API (``python -m stack.api``); :func:`stack.api.app.create_app` builds it."""
