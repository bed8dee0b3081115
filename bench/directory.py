"""What checking directory records costs on the hot paths: routing a submission, loading a staff session.

Run with the project's interpreter: ``.venv/bin/python bench/directory.py [--database-url URL]``. It makes a
temporary instance with a coordinator per country, 40 focal points and three routing rules for the
measured country, all made by the application (so every record carries its MAC), then times, in ABBA
order, two variants of each path:

- **checked**: `recipients.choose_recipients()` and `authentication.load_person()` as they run, every
  rule, person and session record verified under the directory key (`reporter.directory`);
- **unchecked**: the same calls with `RecordKeys.verify` replaced by a function that accepts everything
  (the same queries and the same rows, no MAC computed).

It prints the median of each, the ratio, and the time the checks add per call (target for a
submission: under 0.3 ms). Verified records are remembered by MAC, so the warm figure is what a
running server pays; the cold one (cache cleared before every call) is its first request.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fresh import fresh_instance, median_ms  # noqa: E402

from reporter import create_app, unlock  # noqa: E402
from reporter.cases import recipients  # noqa: E402
from reporter.crypto.records import RecordKeys  # noqa: E402
from reporter.directory import keys_of  # noqa: E402
from reporter.extensions import db  # noqa: E402
from reporter.models import RoutingRule, RoutingRuleMember  # noqa: E402
from reporter.models.base import utcnow  # noqa: E402
from reporter.staff import authentication  # noqa: E402
from tests.staffing import StaffDirectory  # noqa: E402

COUNTRIES = ("GE", "AM", "AZ", "KZ", "KG", "MD", "TJ", "TM", "UA")


def abba(variants: dict[str, Callable[[], Any]], repeat: int, rounds: int = 4) -> dict[str, float]:
    """Return the median of each variant's round medians, the rounds in ABBA order."""
    found: dict[str, list[float]] = {label: [] for label in variants}
    for number in range(rounds):
        order = list(variants) if number % 2 == 0 else list(reversed(variants))
        for label in order:
            found[label].append(median_ms(variants[label], repeat))
    return {label: statistics.median(values) for label, values in found.items()}


def main() -> None:
    """Seed the directory, then time the checked and unchecked variants of each path."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--database-url")
    options = parser.parse_args()
    instance, url, engine = fresh_instance("reporter-bench-directory-", options.database_url)
    os.environ["REPORTER_INSTANCE_PATH"] = instance
    app = create_app({"TESTING": True, "REPORTER_DATABASE_URL": url, "REPORTER_ARGON2_TEST_FAST": True,
                      "REPORTER_KEYS_PATH": os.path.join(instance, "keys")})
    people = StaffDirectory(app)
    for country in COUNTRIES[1:]:
        people.make(role="coordinator", region=country)
    focal_points = [people.make(region=COUNTRIES[n % len(COUNTRIES)]) for n in range(40)]
    georgian = [person for person in focal_points if person.region == "GE"]
    with app.app_context():
        for category, members in (("*", georgian), ("doxxing", georgian[:2]), ("threats", georgian[2:])):
            rule = RoutingRule(country="GE", category=category, language="*", created_at=utcnow())
            db.session.add(rule)
            db.session.flush()
            rule.members = [RoutingRuleMember(rule_id=rule.id, staff_id=p.id) for p in members]
        db.session.commit()
    print(f"backend {engine.dialect.name}, {len(focal_points) + len(COUNTRIES)} staff, 3 rules, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")

    with app.app_context(), db.writing() as session:
        keys = keys_of(session)
        real_verify = RecordKeys.verify
        ticket = unlock.open_session(session, kind="staff", subject_id=georgian[0].id, role="focal_point",
                                     secret=b"k" * 32, now=utcnow(), lifetime=timedelta(hours=1))
        session.commit()

        def route() -> None:
            recipients.choose_recipients(session, country="GE", category="doxxing", language="en")
            session.rollback()

        def load() -> None:
            authentication.load_person(ticket, session=session, now=utcnow())
            session.rollback()

        def unchecked(action: Callable[[], None]) -> Callable[[], None]:
            def run() -> None:
                RecordKeys.verify = lambda self, message, mac: True  # type: ignore[method-assign]
                try:
                    action()
                finally:
                    RecordKeys.verify = real_verify  # type: ignore[method-assign]
            return run

        def cold(action: Callable[[], None]) -> Callable[[], None]:
            def run() -> None:
                keys._verified.clear()
                action()
            return run

        print(f"{'path':<34} {'checked ms':>11} {'unchecked ms':>13} {'ratio':>6} {'added ms':>9}")
        for label, action in (("routing a submission", route), ("loading a staff session", load)):
            for warmth, checked in (("warm", action), ("cold", cold(action))):
                medians = abba({"checked": checked, "unchecked": unchecked(action)}, options.repeat)
                added = medians["checked"] - medians["unchecked"]
                name = f"{label}, {warmth}"
                print(f"{name:<34} {medians['checked']:>11.3f} {medians['unchecked']:>13.3f} "
                      f"{medians['unchecked'] / medians['checked']:>6.2f} {added:>9.3f}")
    engine.dispose()


if __name__ == "__main__":
    main()
