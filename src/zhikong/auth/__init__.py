"""Identity and access: personal-data protection, users, roles, jurisdictions, tokens."""
