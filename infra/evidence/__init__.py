"""``sahab evidence ENV``: the compliance evidence pack, controls mapped to resources, checks and results.

Nothing here decides compliance on its own: each control row is proven by resources that the synthesised
stacks hold and by the policy gate's outcomes on them (``controls.py`` is the reviewed mapping).
"""
