"""Tamper-evident audit log: who did what to which record, hash-chained and anchored.

Write it with `zhikong.audit.service.record` (the only writer), check it with
`zhikong.audit.verification.verify`, and export signed anchors regularly; the encoding is
specified in docs/audit.md.
"""
