"""Typed errors raised by the replica; the CLI turns them into messages."""

from __future__ import annotations


class ReplicaError(Exception):
    """Base class for every error the replica raises on purpose."""


class ReplicaConfigError(ReplicaError):
    """A size, edition, seed or address the replica cannot serve (the message says why)."""
