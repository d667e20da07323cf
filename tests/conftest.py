"""Shared pytest configuration: name the kernel the differential tests ran against."""

from __future__ import annotations

import pytest

from tests.oracle.kernel_oracle import STATS, kernel_info
from tests.tiers import FAST_PROFILE  # noqa: F401  (registers the hypothesis profile)


def pytest_report_header(config) -> list[str]:
    info = kernel_info()
    return [
        f"kernel under differential test: {info['release']} ({info['machine']})",
        f"  {info['proc_version']}",
        f"  vm.mmap_min_addr={info['mmap_min_addr']} CAP_SYS_RAWIO={info['cap_sys_rawio']} "
        f"vm.overcommit_memory={info['overcommit_memory']}",
    ]


@pytest.fixture(scope="session", autouse=True)
def _kernel_in_junit(record_testsuite_property) -> None:
    """The kernel version as testsuite properties of the JUnit XML (with --junitxml)."""
    info = kernel_info()
    record_testsuite_property("kernel_release", info["release"])
    record_testsuite_property("kernel_proc_version", info["proc_version"])


def pytest_sessionfinish(session) -> None:
    """Under pytest-xdist (``make test-fast``), a worker hands its counts to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["differential_stats"] = dict(STATS)


def pytest_configure(config) -> None:
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_CollectWorkerStats(), "differential-stats")


class _CollectWorkerStats:
    """On the xdist controller: add up the differential counts of the workers."""

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:
        for key, n in getattr(node, "workeroutput", {}).get("differential_stats", {}).items():
            STATS[key] += n


def pytest_terminal_summary(terminalreporter) -> None:
    if STATS["sequences"]:
        terminalreporter.write_line(
            f"differential: {STATS['sequences']} sequences ({STATS['ops']} ops) replayed on "
            f"MM against Linux {kernel_info()['release']}: {STATS['mismatches']} mismatches"
        )


# The session-wide book build (fixture `built_book`) shared by the book and browser tests.
from tests.book.build import built_book  # noqa: E402, F401
