"""Base classes of Sahab's Checkov checks (imports Checkov: loaded only in Checkov's environment).

Every Sahab check states its control in ``rationale`` (shown as Checkov's guideline, and in our
SARIF and JUnit reports), records the attributes it read in ``evaluated_keys``, and explains each
failure in Checkov's ``details`` so a reader of the report knows what to change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check
from checkov.terraform.checks.data.base_check import BaseDataCheck
from checkov.terraform.checks.provider.base_check import BaseProviderCheck
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from sahab_policy import POD_KINDS, attr, customer_managed_key_problem, pod_spec_of


class _Verdict:
    """Turns a list of problems into a result, recording what was read and why it failed."""

    evaluated_keys: list[str]
    details: list[str]

    def verdict(self, problems: Iterable[str | None], evaluated_keys: list[str]) -> CheckResult:
        found = [p for p in problems if p]
        self.evaluated_keys = evaluated_keys
        self.details.extend(found)
        return CheckResult.FAILED if found else CheckResult.PASSED


class SahabResourceCheck(_Verdict, BaseResourceCheck):
    """A resource check whose ``rationale`` names the control it serves."""

    def __init__(
        self, *, name: str, id: str, categories: Iterable[CheckCategories], supported_resources: Iterable[str],
        rationale: str,
    ) -> None:
        super().__init__(
            name=name, id=id, categories=categories, supported_resources=supported_resources, guideline=rationale
        )


class SahabProviderCheck(_Verdict, BaseProviderCheck):
    """A provider check (resource checks never see ``provider`` blocks)."""

    def __init__(self, *, name: str, id: str, categories: Iterable[CheckCategories], rationale: str) -> None:
        super().__init__(name=name, id=id, categories=categories, supported_provider=["aws"], guideline=rationale)


class SahabDataCheck(_Verdict, BaseDataCheck):
    """A data source check."""

    def __init__(
        self, *, name: str, id: str, categories: Iterable[CheckCategories], supported_data: Iterable[str], rationale: str
    ) -> None:
        super().__init__(name=name, id=id, categories=categories, supported_data=supported_data, guideline=rationale)


class SahabPodCheck(_Verdict, BaseK8Check):
    """A Kubernetes check over the pod spec of any kind that carries one (Pod, Deployment, ..., CronJob).

    Subclasses implement ``pod_problems(pod)``; a kind without a readable pod spec is UNKNOWN. Checkov's
    Kubernetes runner (3.3.30) builds its records without a check's ``details``, so ``run`` also puts them
    into the check result, where the gate reads them.
    """

    def __init__(self, *, name: str, id: str, categories: Iterable[CheckCategories], rationale: str) -> None:
        super().__init__(name=name, id=id, categories=categories, supported_entities=POD_KINDS, guideline=rationale)

    def get_resource_id(self, conf: dict[str, Any]) -> str:
        metadata = conf.get("metadata") or {}
        return f"{conf.get('kind')}.{metadata.get('namespace', 'default')}.{metadata.get('name')}"

    def run(self, *args: Any, **kwargs: Any) -> Any:
        result = super().run(*args, **kwargs)
        if self.details:
            result["details"] = list(self.details)
        return result

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        pod = pod_spec_of(conf)
        if pod is None:
            return CheckResult.UNKNOWN
        return self.verdict(self.pod_problems(pod), self.evaluated_pod_keys())

    def pod_problems(self, pod: dict[str, Any]) -> list[str]:
        raise NotImplementedError

    def evaluated_pod_keys(self) -> list[str]:
        raise NotImplementedError


class CustomerManagedKeyCheck(SahabResourceCheck):
    """A resource must name one of our CMKs in ``key_attribute`` (an AWS-managed or missing key fails).

    Subclasses set ``key_attribute`` and may override ``encryption_problems`` for flags that must
    also be on (``encrypted``, ``at_rest_encryption_enabled``).
    """

    key_attribute: str

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        key = customer_managed_key_problem(attr(conf, self.key_attribute), self.key_attribute)
        problems = [*self.encryption_problems(conf), key]
        return self.verdict(problems, [self.key_attribute, *self.extra_evaluated_keys()])

    def encryption_problems(self, conf: dict[str, list[Any]]) -> list[str]:
        return []

    def extra_evaluated_keys(self) -> list[str]:
        return []
