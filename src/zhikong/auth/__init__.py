"""Identity and protection: keys, personal-data encryption, users, roles, jurisdictions, tokens."""
