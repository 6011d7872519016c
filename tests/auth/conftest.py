"""Identity tests use the demo installation fixtures of tests/conftest.py."""

from ..conftest import Installation

__all__ = ["Installation"]
