"""``MandatoryTags``: an Aspect that writes the environment's mandatory tags onto every taggable resource.

Provider ``default_tags`` already tag what Terraform creates, but scanners (Checkov) and reviewers read
the resource's own ``tags``, and some resources never inherit default tags. So tags are set twice, on
purpose: once on the provider, once here. Mandatory keys win over a construct's own value for the same
key, so no construct can mislabel an environment or its data classification.
"""

from __future__ import annotations

from modules.cdk import IAspect, IConstruct, TerraformResource, jsii


@jsii.implements(IAspect)
class MandatoryTags:
    def __init__(self, tags: dict[str, str]) -> None:
        self.tags = dict(tags)

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, TerraformResource) or not hasattr(type(node), "tags_input"):
            return
        existing = node.tags_input or {}
        node.tags = {**existing, **self.tags}
