"""echows: a tiny WebSocket service for the realtime users' tests (see __main__)."""
