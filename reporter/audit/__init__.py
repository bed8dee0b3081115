"""The tamper-evident audit chain: appending, checkpoints, verification and the auditor's review."""
