"""The one exception type net2code raises for bad input; the CLI prints it as a single line."""

from __future__ import annotations


class Net2CodeError(Exception):
    """A user-facing error: its message names the offending value and the limit it broke."""


class ConfigError(Net2CodeError):
    """A configuration or argument is out of range."""


class CheckpointError(Net2CodeError):
    """A checkpoint is missing, corrupt, or does not match its config."""


class DomainError(Net2CodeError):
    """A domain cannot be parsed, is too large, or does not fit the network."""
