"""Tests over verbatim upstream documents; collected only when ``tests.shared.UPSTREAM`` is set."""
