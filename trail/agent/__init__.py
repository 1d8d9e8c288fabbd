"""``trail-agent``: simulated Pantavisor devices (see :mod:`trail.agent.cli`)."""

from trail.agent.cli import main

__all__ = ["main"]
