# Shaped like public modules (terraform-aws-modules eks/vpc/kms/s3): variables, references, dynamic blocks,
# list-valued attributes, a list nested in a list, a jsonencode policy. Not deployable: read by the checks only.
variable "cluster_enabled_log_types" {
  type    = list(string)
  default = ["audit", "api", "authenticator"]
}
variable "key_spec" { default = "SYMMETRIC_DEFAULT" }
variable "public_access_cidrs" { default = ["0.0.0.0/0"] }

resource "aws_eks_cluster" "this" {
  name                      = "example"
  role_arn                  = aws_iam_role.cluster.arn
  enabled_cluster_log_types = var.cluster_enabled_log_types
  vpc_config {
    subnet_ids              = var.subnet_ids
    endpoint_private_access = true
    endpoint_public_access  = var.public
    public_access_cidrs     = var.public_access_cidrs
  }
  dynamic "encryption_config" {
    for_each = var.create_kms_key ? [1] : []
    content {
      provider { key_arn = aws_kms_key.this.arn }
      resources = ["secrets"]
    }
  }
}

resource "aws_kms_key" "this" {
  description              = "eks"
  customer_master_key_spec = var.key_spec
  enable_key_rotation      = var.enable_key_rotation
  policy                   = data.aws_iam_policy_document.key.json
}

resource "aws_security_group" "node" {
  name   = "node"
  vpc_id = var.vpc_id
  dynamic "ingress" {
    for_each = var.ingress_rules
    content {
      from_port   = ingress.value.from_port
      to_port     = ingress.value.to_port
      protocol    = ingress.value.protocol
      cidr_blocks = ingress.value.cidr_blocks
    }
  }
}

resource "aws_security_group_rule" "ingress" {
  for_each          = var.rules
  type              = "ingress"
  security_group_id = aws_security_group.node.id
  from_port         = each.value.from_port
  to_port           = each.value.to_port
  protocol          = each.value.protocol
  cidr_blocks       = lookup(each.value, "cidr_blocks", null)
}

resource "aws_launch_template" "this" {
  name = "lt"
  dynamic "block_device_mappings" {
    for_each = var.block_device_mappings
    content {
      device_name = block_device_mappings.value.device_name
      dynamic "ebs" {
        for_each = [block_device_mappings.value.ebs]
        content {
          encrypted  = ebs.value.encrypted
          kms_key_id = ebs.value.kms_key_id
        }
      }
    }
  }
  dynamic "metadata_options" {
    for_each = [var.metadata_options]
    content {
      http_tokens = metadata_options.value.http_tokens
    }
  }
  tags = var.tags
}

resource "aws_s3_bucket" "this" {
  bucket = var.bucket
  tags   = merge(var.tags, { Name = var.bucket })
}

resource "aws_cloudwatch_log_group" "this" {
  name       = "/aws/eks/example/cluster"
  kms_key_id = var.cluster_log_kms_key_id
}

provider "aws" {
  region = var.region
  default_tags { tags = var.tags }
}

resource "aws_eks_cluster" "nested" {
  name                      = "nested"
  role_arn                  = aws_iam_role.cluster.arn
  enabled_cluster_log_types = [var.cluster_enabled_log_types]
  vpc_config {
    subnet_ids = var.subnet_ids
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecure"
      Effect    = "Deny"
      Principal = "*"
      Action    = [["s3:*"], { nested = "map" }]
      Resource  = ["arn:aws:s3:::x", "arn:aws:s3:::x/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}
