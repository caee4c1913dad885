import json

import pytest

from environments.errors import ConfigError

REGION = "me-central-1"


def policies(sut):
    return {address: json.loads(key["policy"]) for address, key in sut.resources("aws_kms_key").items()}


def test_there_is_one_key_per_data_class_plus_a_signing_key_and_a_pseudonym_key(sut):
    descriptions = sorted(k["description"].split(" ")[1] for k in sut.resources("aws_kms_key").values())
    assert descriptions == ["backup", "customer-pseudonym", "data", "ebs", "eks-secrets", "kafka", "logs", "model", "models"]


def test_every_symmetric_key_rotates(sut):
    symmetric = [k for k in sut.resources("aws_kms_key").values() if "customer_master_key_spec" not in k]
    assert len(symmetric) == 7
    assert all(k["enable_key_rotation"] is True and k["rotation_period_in_days"] == 365 for k in symmetric)


def test_no_key_policy_allows_kms_star_or_anything_to_star(sut):
    for address, policy in policies(sut).items():
        for statement in policy["Statement"]:
            assert "kms:*" not in statement["Action"], address
            if statement["Effect"] == "Allow":
                assert statement["Principal"] not in ("*", {"AWS": "*"}, {"AWS": ["*"]}), address


def test_only_the_named_roles_administer_a_key_and_none_may_create_other_than_aliases(sut):
    for address, policy in policies(sut).items():
        admin = next(s for s in policy["Statement"] if s["Sid"] == "AdministerByNamedRoles")
        assert admin["Condition"] == {"ArnEquals": {"aws:PrincipalArn": [
            "arn:aws:iam::${data.aws_caller_identity.CallerIdentity.account_id}:role/sahab-deploy"]}}, address
        assert "kms:CreateAlias" in admin["Action"] and not any(a.startswith("kms:Create*") for a in admin["Action"])


def test_grants_may_be_created_only_for_aws_resources(sut):
    for address, policy in policies(sut).items():
        deny = [s for s in policy["Statement"] if s["Sid"] == "DenyGrantsExceptForAwsResources"]
        assert deny == [{"Sid": "DenyGrantsExceptForAwsResources", "Effect": "Deny", "Principal": {"AWS": ["*"]},
                         "Action": ["kms:CreateGrant"], "Resource": "*",
                         "Condition": {"Bool": {"kms:GrantIsForAWSResource": "false"}}}], address


def test_the_signing_key_signs_for_the_signer_roles_and_verifies_for_the_verifier_roles_only(sut):
    from modules.keys import Keys, KeysProps

    keys = Keys(sut.stack, "Named", props=KeysProps(name_prefix="n", region=REGION, administrator_roles=("deploy",),
                                                    signer_roles=("trainer",), verifier_roles=("scorer", "drift")))
    signing = next(k for a, k in sut.resources("aws_kms_key").items() if a.startswith("Named_Signing"))
    statements = {s["Sid"]: s for s in json.loads(signing["policy"])["Statement"]}
    role = "arn:aws:iam::${data.aws_caller_identity.CallerIdentity.account_id}:role/"
    assert statements["SignByNamedRoles"]["Action"] == ["kms:Sign", "kms:DescribeKey"]
    assert statements["SignByNamedRoles"]["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [f"{role}trainer"]
    assert "kms:Sign" not in statements["VerifyByNamedRoles"]["Action"]
    assert statements["VerifyByNamedRoles"]["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [f"{role}scorer", f"{role}drift"]
    assert keys.signing is not None


def test_a_key_set_without_administrators_is_refused(sut):
    from modules.keys import Keys, KeysProps

    with pytest.raises(ConfigError, match="'administrator_roles' must name at least one role"):
        Keys(sut.stack, "Orphan", props=KeysProps(name_prefix="o", region=REGION, administrator_roles=()))


def test_key_use_by_the_account_is_limited_to_the_services_of_its_data_class(sut):
    data_key = next(p for p in policies(sut).values() if "elasticache" in json.dumps(p))
    use = next(s for s in data_key["Statement"] if s["Sid"] == "UseThroughServices")
    assert use["Condition"]["StringEquals"]["kms:ViaService"] == [
        f"s3.{REGION}.amazonaws.com", f"elasticache.{REGION}.amazonaws.com",
        f"secretsmanager.{REGION}.amazonaws.com", f"dynamodb.{REGION}.amazonaws.com",
    ]


def test_the_logs_key_lets_cloudwatch_logs_of_the_region_encrypt_only_log_groups_of_the_account(sut):
    logs_key = next(p for p in policies(sut).values() if any(s["Sid"] == "CloudWatchLogs" for s in p["Statement"]))
    statement = next(s for s in logs_key["Statement"] if s["Sid"] == "CloudWatchLogs")
    assert statement["Principal"] == {"Service": [f"logs.{REGION}.amazonaws.com"]}
    assert statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"].startswith(f"arn:aws:logs:{REGION}:")


def test_the_signing_key_is_asymmetric_and_only_signs(sut):
    signing = [k for k in sut.resources("aws_kms_key").values() if k.get("key_usage") == "SIGN_VERIFY"]
    assert len(signing) == 1 and signing[0]["customer_master_key_spec"] == "ECC_NIST_P256"


def test_aliases_follow_the_naming_function(sut):
    names = sorted(a["name"] for a in sut.resources("aws_kms_alias").values())
    assert "alias/sahab-test-data" in names and "alias/sahab-test-models-signing" in names and len(names) == 9
    assert "alias/sahab-test-customer-pseudonym" in names


def test_a_stack_in_another_account_gets_only_the_classes_it_asks_for_and_no_signing_key(sut):
    from modules.keys import Keys, KeysProps

    only = Keys(sut.stack, "Recovery", props=KeysProps(name_prefix="sahab-copy", region=REGION,
                                                       administrator_roles=("sahab-deploy",), data_classes=("backup",),
                                                       signing=False, pseudonym=False))
    aliases = sorted(a["name"] for a in sut.resources("aws_kms_alias").values() if a["name"].startswith("alias/sahab-copy"))
    assert aliases == ["alias/sahab-copy-backup"]
    with pytest.raises(ConfigError, match=r"no key for data class 'data'; known: \['backup'\]"):
        only.data
    with pytest.raises(ConfigError, match="without the signing key"):
        only.signing
    with pytest.raises(ConfigError, match="without a pseudonym key"):
        only.pseudonym_arn
    with pytest.raises(ConfigError, match=r"'data_classes' must be among .* \(unknown: \['tapes'\]\)"):
        Keys(sut.stack, "Bad", props=KeysProps(name_prefix="x", region=REGION, administrator_roles=("a",),
                                               data_classes=("tapes",)))


def test_the_backup_key_is_used_only_through_aws_backup(sut):
    (policy,) = [p for p in policies(sut).values()
                 if any("backup" in str(s.get("Condition", "")) for s in p["Statement"])]
    use = next(s for s in policy["Statement"] if s["Sid"] == "UseThroughServices")
    assert use["Condition"]["StringEquals"]["kms:ViaService"] == [f"backup.{REGION}.amazonaws.com"]


def test_a_deletion_window_out_of_range_is_refused_naming_the_prop(sut):
    from modules.keys import Keys, KeysProps

    with pytest.raises(ConfigError, match=r"'deletion_window_days' must be between 7 and 30 \(value: 3\)"):
        Keys(sut.stack, "Other", props=KeysProps(name_prefix="x", region=REGION, administrator_roles=("a",),
                                                 deletion_window_days=3))


def test_signing_is_granted_apart_from_verifying(sut):
    from modules.cdk import iam_role
    from modules.iam import assume_role_policy

    roles = {name: iam_role.IamRole(sut.stack, name, name=name, assume_role_policy=assume_role_policy("ec2.amazonaws.com"))
             for name in ("Training", "Scoring")}
    sut.keys.grant_sign(roles["Training"])
    sut.keys.grant_verify(roles["Scoring"])
    actions = {role.split(".")[1]: set(statements[0]["Action"]) for role, statements in sut.role_policies().items()}
    assert actions == {"Training": {"kms:Sign", "kms:DescribeKey"},
                       "Scoring": {"kms:Verify", "kms:GetPublicKey", "kms:DescribeKey"}}


def pseudonym_keys(sut, prefix: str = "Named_Pseudonym_"):
    return [k for a, k in sut.resources("aws_kms_key").items() if a.startswith(prefix)]


def test_the_pseudonym_key_is_hmac_256_for_macs_only_and_never_asks_for_rotation(sut):
    (key,) = pseudonym_keys(sut, "Keys_Pseudonym_")
    assert (key["customer_master_key_spec"], key["key_usage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")
    assert "enable_key_rotation" not in key  # KMS refuses rotation of HMAC keys


def test_only_the_pseudonym_roles_may_generate_macs_and_nobody_verifies_or_decrypts(sut):
    from modules.keys import ADMIN_ACTIONS, Keys, KeysProps

    Keys(sut.stack, "Named", props=KeysProps(name_prefix="n", region=REGION, administrator_roles=("deploy",),
                                             pseudonym_roles=("scorer", "ingestor")))
    (key,) = pseudonym_keys(sut)
    statements = {s["Sid"]: s for s in json.loads(key["policy"])["Statement"]}
    role = "arn:aws:iam::${data.aws_caller_identity.CallerIdentity.account_id}:role/"
    assert set(statements) == {"AdministerByNamedRoles", "GenerateMacByNamedRoles", "DenyGrantsExceptForAwsResources"}
    assert statements["GenerateMacByNamedRoles"]["Action"] == ["kms:GenerateMac"]
    assert statements["GenerateMacByNamedRoles"]["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": [f"{role}scorer", f"{role}ingestor"]}}
    admin = statements["AdministerByNamedRoles"]
    assert admin["Action"] == list(ADMIN_ACTIONS) and admin["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [f"{role}deploy"]
    assert "kms:GenerateMac" not in admin["Action"] and not any("Mac" in a for a in admin["Action"])


def test_the_pseudonym_key_takes_the_configured_alias(sut):
    from modules.keys import Keys, KeysProps

    Keys(sut.stack, "Named", props=KeysProps(name_prefix="n", region=REGION, administrator_roles=("deploy",),
                                             pseudonym_key_id="alias/tenant-pseudonyms"))
    assert "alias/tenant-pseudonyms" in {a["name"] for a in sut.resources("aws_kms_alias").values()}


def test_a_brought_pseudonym_key_is_not_made_but_granted_on(sut):
    from modules.cdk import iam_role
    from modules.iam import assume_role_policy
    from modules.keys import Keys, KeysProps

    arn = "arn:aws:kms:me-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    keys = Keys(sut.stack, "Named", props=KeysProps(name_prefix="n", region=REGION, administrator_roles=("deploy",),
                                                    pseudonym_key_id=arn))
    assert pseudonym_keys(sut) == []
    with pytest.raises(ConfigError, match="made no pseudonym key"):
        keys.pseudonym
    role = iam_role.IamRole(sut.stack, "Scoring", name="s", assume_role_policy=assume_role_policy("ec2.amazonaws.com"))
    keys.grant_generate_mac(role)
    ((statement,),) = sut.role_policies().values()
    assert statement["Action"] == ["kms:GenerateMac"] and statement["Resource"] == [arn]


@pytest.mark.parametrize(("key_id", "message"), [
    ("alias/aws/s3", "must be an alias to create"),
    ("1234abcd-12ab-34cd-56ef-1234567890ab", "must be an alias to create"),
    ("arn:aws:kms:me-central-1:111122223333:alias/x", "must be an alias to create"),
    ("arn:aws:kms:eu-west-1:111122223333:key/1234", "must be a key in 'me-central-1'"),
])
def test_a_pseudonym_key_that_cannot_be_made_or_granted_is_refused_naming_the_prop(sut, key_id, message):
    from modules.keys import Keys, KeysProps

    with pytest.raises(ConfigError, match=f"'pseudonym_key_id' {message}") as refused:
        Keys(sut.stack, "Bad", props=KeysProps(name_prefix="x", region=REGION, administrator_roles=("a",),
                                               pseudonym_key_id=key_id))
    assert repr(key_id) in str(refused.value)


def test_generating_macs_is_granted_alone(sut):
    from modules.cdk import iam_role
    from modules.iam import assume_role_policy

    role = iam_role.IamRole(sut.stack, "Ingestor", name="i", assume_role_policy=assume_role_policy("ec2.amazonaws.com"))
    sut.keys.grant_generate_mac(role)
    ((statement,),) = sut.role_policies().values()
    assert statement["Action"] == ["kms:GenerateMac"]
    assert statement["Resource"] == [f"${{aws_kms_key.{next(a for a in sut.resources('aws_kms_key') if a.startswith('Keys_Pseudonym_'))}.arn}}"]
