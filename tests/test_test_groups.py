"""The test run's own arrangement: the browser tests share one pytest-xdist group."""

from __future__ import annotations

import pytest


def test_the_browser_tests_run_in_one_worker_one_after_another(
    request: pytest.FixtureRequest,
) -> None:
    if not request.config.getoption("loadgroup", False):
        pytest.skip("only `--dist loadgroup` (the test command's) groups tests")
    browser = [item for item in request.session.items if item.get_closest_marker("e2e")]
    if not browser:
        pytest.skip("no browser test was collected beside this one")
    # pytest-xdist names a test's group in its id; tests of one group go to one worker.
    ungrouped = [item.nodeid for item in browser if not item.nodeid.endswith("@browser")]
    assert not ungrouped, ungrouped
