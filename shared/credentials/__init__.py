"""Credentials for signing: the value object here; sources, chain and cache in sibling modules."""

from __future__ import annotations

from shared.credentials.value import Credentials

__all__ = ["Credentials"]
