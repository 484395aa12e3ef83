"""Listener modules; each exposes ``register(app, deps)`` and handles one command or surface."""
