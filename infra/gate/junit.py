"""JUnit XML for CI test tabs: a test suite per stack, a test case per check and resource.

Skipped built-in checks get their own suite of ``<skipped>`` cases carrying the reason, so a CI
reader sees what the gate did not run and why without opening ``policies/skips.yaml``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from infra.gate.model import GateReport

SKIPS_SUITE = "skipped built-in checks (policies/skips.yaml)"


def junit_tree(report: GateReport) -> ET.ElementTree:
    skipped = len(report.skips)
    root = ET.Element(
        "testsuites",
        name="sahab policy gate",
        tests=str(len(report.outcomes) + skipped),
        failures=str(report.failed),
        skipped=str(skipped),
        time=f"{report.seconds:.3f}",
    )
    for stack in report.stacks:
        suite = ET.SubElement(
            root, "testsuite", name=stack.name, tests=str(len(stack.outcomes)), failures=str(stack.failed),
            skipped="0", errors="0", file=str(stack.file),
        )
        for outcome in stack.outcomes:
            case = ET.SubElement(suite, "testcase", classname=f"{stack.name}.{outcome.check_id}", name=outcome.address)
            if outcome.result == "FAILED":
                failure = ET.SubElement(case, "failure", type=outcome.check_id, message=outcome.check_name)
                lines = [*outcome.details, f"at {outcome.file}:{outcome.line_range[0]}"]
                if outcome.guideline:
                    lines.append(f"why: {outcome.guideline}")
                failure.text = "\n".join(lines)
    suite = ET.SubElement(root, "testsuite", name=SKIPS_SUITE, tests=str(skipped), failures="0", skipped=str(skipped), errors="0")
    for skip in report.skips:
        case = ET.SubElement(suite, "testcase", classname="skips", name=skip.check_id)
        ET.SubElement(case, "skipped", message=skip.reason)
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(report: GateReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_tree(report).write(path, encoding="utf-8", xml_declaration=True)
    return path
