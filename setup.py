"""Build of the optional C accelerator; everything else is in pyproject.toml.

``imago_fed.domain.voting.crypto._montgomery`` (Montgomery multiplication on
GMP's mpn layer for ballot verification) needs a C compiler and GMP's
headers (Debian: ``libgmp-dev``). It is optional: if it cannot be built the
package installs without it and ``groups.py`` uses its pure-Python path,
which gives the same results.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "imago_fed.domain.voting.crypto._montgomery",
            sources=["imago_fed/domain/voting/crypto/_montgomery.c"],
            libraries=["gmp"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
