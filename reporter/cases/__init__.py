"""Cases after submission: who holds them, routing, triage, notes and messages, the queue, notifications."""
