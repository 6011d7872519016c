"""Shared HTTP plumbing: problem details, request ids, common dependencies, health probes.

The application factory that mounts every router is `zhikong.app` (composition layer).
"""
