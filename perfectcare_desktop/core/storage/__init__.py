"""How records are kept: the store file, versions (only ever added), the audit chain, the sync outbox,
integrity checks, backups, JSON export, autosaved drafts, and safe file writes."""
