"""Build script for the optional C accelerator; everything else is in pyproject.toml.

The extension is optional: without a C compiler (or with
SIPSTACK_NO_EXTENSIONS=1 set at install time) sipstack installs and runs
on its pure-Python parser, which gives the same results.
"""

import os

from setuptools import Extension, setup

extensions = []
if not os.environ.get("SIPSTACK_NO_EXTENSIONS"):
    extensions.append(
        Extension(
            "sipstack.message._speedups",
            ["sipstack/message/_speedups.c"],
            optional=True,
        )
    )

setup(ext_modules=extensions)
