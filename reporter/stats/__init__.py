"""Statistics for advocacy that expose nobody.

Only reports whose reporter ticked the statistics box are counted; for them alone a few coarse values
are kept in plaintext (`recording`). Figures are per closed month or quarter (`periods`), counted by
SQL aggregates (`aggregates`), and every output (page, chart, CSV, command line) publishes them through
the one suppression function (`suppression.suppress_linked`).
"""
