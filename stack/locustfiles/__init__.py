"""Locustfiles written for the reference stack: its routes and its login — a user's
workload, not gauntlet's."""
