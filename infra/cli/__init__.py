"""The ``sahab`` command line: a thin adapter over library functions (see ``main``)."""
