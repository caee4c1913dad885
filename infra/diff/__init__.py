"""``sahab diff``: what a pull request changes in the infrastructure, for a reviewer to read in a minute.

``run`` synthesises and gates the base ref and this tree, ``terraform_json`` reads stacks by construct path with
references by name, ``compare`` finds creates, deletes, updates, replacements (``replacements``) and moves,
``policy`` the gate's delta, ``cost_delta`` the monthly cost delta, ``plan_json`` reads a Terraform plan into the same
model, and ``render`` writes the pull-request comment and the JSON.
"""
