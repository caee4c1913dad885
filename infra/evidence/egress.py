"""The egress test's last result, read from the JUnit file every pytest run leaves (``reports/pytest.junit.xml``).

``tests/e2e/test_egress.py`` runs the local stack's processes under ``strace`` and fails on any connection that is
not loopback: the only evidence in the pack that comes from running code rather than from the stacks. Running it
takes minutes, so the pack reads its last result instead of running it; a pack built on a tree where it never ran
says so ("absent") rather than passing or failing it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

from environments.errors import ConfigError
from infra.evidence.model import EgressEvidence, EgressTest

DEFAULT_JUNIT = Path("reports") / "pytest.junit.xml"
#: Testcases whose ``classname`` contains this are the egress tests.
EGRESS_CLASSNAME = "test_egress"
NOT_RUN = "not run: run `make test` first (it writes {path})"


def read_egress(path: Path) -> EgressEvidence:
    """The egress tests in the JUnit file at ``path``: ``failed`` if any failed or errored, ``passed`` if at least
    one passed and none failed, ``absent`` if the file or the tests are missing (or all were skipped)."""
    if not path.is_file():
        return EgressEvidence(source=str(path), state="absent", tests=(), note=NOT_RUN.format(path=path))
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as exc:
        raise ConfigError(f"{path} is not JUnit XML ({exc}): delete it and run `make test` again") from None
    tests = []
    for case in root.iter("testcase"):
        if EGRESS_CLASSNAME not in case.get("classname", ""):
            continue
        name = f"{case.get('classname')}::{case.get('name')}"
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            lines = (problem.text or "").strip().splitlines()
            message = problem.get("message") or (lines[-1] if lines else "no message")
            tests.append(EgressTest(name=name, outcome="failed", message=message))
        elif (skipped := case.find("skipped")) is not None:
            tests.append(EgressTest(name=name, outcome="skipped", message=skipped.get("message", "")))
        else:
            tests.append(EgressTest(name=name, outcome="passed"))
    outcomes = {t.outcome for t in tests}
    if "failed" in outcomes:
        failed = [t.name for t in tests if t.outcome == "failed"]
        return EgressEvidence(str(path), "failed", tuple(tests), f"{len(failed)} egress test(s) failed: {', '.join(failed)}")
    if "passed" in outcomes:
        stamp = root.find("testsuite")
        when = (stamp if stamp is not None else root).get("timestamp", "an unknown time")
        return EgressEvidence(str(path), "passed", tuple(tests), f"{len(tests)} egress test(s) ran at {when}; none failed")
    note = NOT_RUN.format(path=path) if not tests else "every egress test was skipped: " + "; ".join(t.message for t in tests)
    return EgressEvidence(str(path), "absent", tuple(tests), note)
