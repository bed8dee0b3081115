"""Floods of junk reports: a ceiling for the whole site, and a threshold per client.

A flood must not exhaust storage or bury the queue. Beyond REPORTER_SUBMIT_GLOBAL_LIMIT submissions
(all clients together, "300 per hour" by default) the form answers 503 with Retry-After and keeps what
was typed, so a real reporter can send it a little later. A client that sends more than
REPORTER_SUBMIT_FLOOD_LIMIT ("10 per hour") still has every report stored, but marked "possible
flood": no deadline, no e-mail of its own, a flag in the queue (reporter.intake.submission). In onion
mode no client can be told apart, so the threshold counts every submission together.

Both counters live in the rate-limit store (Redis when configured, so every worker shares them); the
client key is the same daily-rotating keyed hash as every other limit, never an address.
"""

from __future__ import annotations

import math
import time

from flask import current_app
from limits import parse

from reporter.extensions import client_key, limiter

_SITE = "reporter-submit-site"
_CLIENT = "reporter-submit-client"


def admit() -> tuple[int, bool]:
    """Count one submission for the site and its client.

    Return the seconds until the site takes reports again (0 when it takes this one), and whether the
    client is beyond its threshold. One hit both checks and counts the site's submission: a refused
    hit moves no window's end, so the wait is the same as a test before it would give, for one round
    trip to the store less on every submission.
    """
    site = parse(str(current_app.config["REPORTER_SUBMIT_GLOBAL_LIMIT"]))
    if not limiter.limiter.hit(site, _SITE):
        reset = limiter.limiter.get_window_stats(site, _SITE).reset_time
        return max(1, math.ceil(reset - time.time())), False
    return 0, not limiter.limiter.hit(parse(str(current_app.config["REPORTER_SUBMIT_FLOOD_LIMIT"])), _CLIENT,
                                      client_key())
