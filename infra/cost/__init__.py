"""Monthly cost estimates of an environment from its synthesised Terraform JSON and a dated price table."""
