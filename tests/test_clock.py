"""One clock, the database's (app/clock.py), and a suite that does not depend on today's date.

Where a host's clock could disagree with the database's, the domain's own tests move this
process's clock (time-machine's ``time_machine`` fixture) as a skewed server would have it:
tests/feeds/test_polling.py, tests/idempotency/test_service.py, tests/triage/test_actions.py.
Here: the clock itself, and the cheap guard that runs the time-dependent tests in a
subprocess with its clock a year ahead (TEST_CLOCK_SHIFT_DAYS, tests/conftest.py); the
whole suite runs so with ``TEST_CLOCK_SHIFT_DAYS=365 make test``.
"""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from app import clock

ROOT = Path(__file__).resolve().parents[1]


def test_the_clock_is_the_database_s_whatever_this_host_s_says(session, now, time_machine):
    time_machine.move_to(datetime.now(UTC) + timedelta(days=400), tick=True)
    instant = clock.now(session)
    assert now <= instant < now + timedelta(days=1)
    # The transaction's time: the same instant as the rows it writes by default.
    assert clock.now(session) == instant == session.scalar(select(func.now()))


# A few tests of each place where time is the subject: feed freshness, retention, back-off
# and due polls; GBFS ttl; idempotency expiry; the reopen window; Open311's default window
# and date filters; overdue work; personal-data reads by date; the retention schedule.
CLOCK_SUBSET = [
    "tests/feeds/test_ngsi_ld.py",
    "tests/feeds/test_polling.py::test_a_repeated_observation_is_stored_once_and_a_new_one_is_added",
    "tests/feeds/test_polling.py::test_the_purge_deletes_observations_older_than_the_retention_only",
    "tests/feeds/test_polling.py::test_due_feeds_are_claimed_once_until_their_poll_or_lease_ends",
    "tests/feeds/test_gbfs.py::test_the_freshness_limit_counts_the_source_s_ttl",
    "tests/idempotency/test_service.py",
    "tests/triage/test_actions.py::test_a_resident_cannot_reopen_more_than_30_days_after_resolution",
    "tests/triage/test_offline.py::test_a_device_time_before_the_report_was_made_or_in_the_future_is_refused",
    "tests/open311/test_requests.py::test_without_dates_only_the_last_90_days_are_listed",
    "tests/open311/test_requests.py::test_updated_after_and_before",
    "tests/worklists/test_desk_queue.py::test_counts_split_the_filtered_queue_by_state_with_the_overdue",
    "tests/audit/test_personal_data_reads.py::"
    "test_supervisors_and_admins_list_the_reads_newest_first_with_filters",
    "tests/privacy/test_retention.py::"
    "test_each_rule_removes_the_rows_just_past_its_delay_and_keeps_those_just_inside",
    "tests/privacy/test_retention.py::"
    "test_the_worker_applies_the_schedule_nightly_and_purges_keys_hourly",
]


def test_the_time_dependent_tests_pass_with_this_process_s_clock_a_year_ahead():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *CLOCK_SUBSET],
        cwd=ROOT,
        env={**os.environ, "TEST_CLOCK_SHIFT_DAYS": "365"},
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert "clock moved 365 days" in output, output
    assert result.returncode == 0, output[-5000:]
