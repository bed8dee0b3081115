"""The queue's expression index (which schema comparison cannot reflect) exists after migrating."""

from __future__ import annotations

from sqlalchemy import text

from reporter.extensions import db


def test_queue_order_index_exists(app, backend):
    query = ("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'ix_reports_queue_order'"
             if backend == "sqlite" else
             "SELECT indexname FROM pg_indexes WHERE indexname = 'ix_reports_queue_order'")
    with app.app_context():
        assert db.session.execute(text(query)).scalar() == "ix_reports_queue_order"
