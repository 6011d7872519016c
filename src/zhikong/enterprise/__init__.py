"""Enterprises: the registry keyed by the unified social credit code (统一社会信用代码)."""
