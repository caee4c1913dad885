"""``ContainerRegistry``: the environment's own ECR repositories, the only place its workloads pull from.

Every repository encrypts images with our CMK, scans on push, and refuses to overwrite a tag
(``IMMUTABLE``), so a tag names one image for good: the rendered manifests pin images by tag, and the gate's
CKV_SAHAB_36 fails any image from elsewhere. Old untagged layers expire; tagged images are kept up to
``keep_tagged_images`` per repository, so a rollback target stays pullable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from modules.cdk import Construct, ecr_lifecycle_policy, ecr_repository, kms_key


@dataclass(frozen=True, kw_only=True)
class ContainerRegistryProps:
    """Props of ``ContainerRegistry``."""

    repository_names: tuple[str, ...]
    """Full repository names, e.g. ``sahab-smb/scoring`` (``environments.names.ecr_repository``)."""
    key: kms_key.KmsKey
    """CMK that encrypts the images (they embed code and, for serving, models)."""
    keep_tagged_images: int = 50
    """Tagged images kept per repository. Default: 50."""
    untagged_expiry_days: int = 7
    """Days after which untagged images expire. Default: 7."""


class ContainerRegistry(Construct):
    def __init__(self, scope: Construct, id: str, *, props: ContainerRegistryProps) -> None:
        super().__init__(scope, id)
        self.props = props
        self.repositories: dict[str, ecr_repository.EcrRepository] = {}
        for name in props.repository_names:
            construct_id = "".join(part.capitalize() for part in name.replace("/", "-").split("-"))
            repository = ecr_repository.EcrRepository(
                self, construct_id, name=name, image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=ecr_repository.EcrRepositoryImageScanningConfiguration(scan_on_push=True),
                encryption_configuration=[ecr_repository.EcrRepositoryEncryptionConfiguration(
                    encryption_type="KMS", kms_key=props.key.arn)],
            )
            ecr_lifecycle_policy.EcrLifecyclePolicy(
                self, f"{construct_id}Lifecycle", repository=repository.name, policy=self._lifecycle_policy(),
            )
            self.repositories[name] = repository

    def _lifecycle_policy(self) -> str:
        return json.dumps({"rules": [
            {"rulePriority": 1, "description": "expire untagged layers",
             "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                           "countNumber": self.props.untagged_expiry_days},
             "action": {"type": "expire"}},
            {"rulePriority": 2, "description": "keep the newest tagged images",
             "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                           "countNumber": self.props.keep_tagged_images},
             "action": {"type": "expire"}},
        ]})
