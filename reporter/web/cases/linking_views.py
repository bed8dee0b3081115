"""Cases linked by the accounts they name: the lines on a case page, and the coordinator's page."""

from __future__ import annotations

from collections.abc import Sequence

from flask import render_template, url_for
from flask_login import current_user

from reporter import directory
from reporter.access import LINK_ACCOUNTS, require
from reporter.cases import linking
from reporter.cases.linking import Elsewhere
from reporter.extensions import db
from reporter.intake.online_details import OnlineDetail
from reporter.models.base import utcnow
from reporter.web import context, labels
from reporter.web.cases import bp


def seen_elsewhere(report_id: str, details: Sequence[OnlineDetail]) -> dict[tuple[str, str], Elsewhere]:
    """Return the other cases naming the accounts of a case, as the logged-in person may learn of them."""
    return linking.seen_elsewhere(db.session, report_id, current_user.id, keys=directory.keys_of(db.session),
                                  linking_key=context.keyring().linking_key, details=details)


@bp.get("/linked-accounts")
@require(LINK_ACCOUNTS)
def linked_accounts() -> str:
    """List the accounts named in the most cases of the coordinator's region this quarter."""
    now = utcnow()
    accounts = linking.most_linked(db.session, current_user.region, current_user.id,
                                   keys=directory.keys_of(db.session), now=now)
    return render_template("cases/linked_accounts.html", accounts=accounts, region=current_user.region,
                           since=linking.quarter_start(now), case_prefix=url_for("cases.queue") + "/",
                           platform_labels={code: str(name) for code, name in labels.PLATFORM_LABELS.items()})
