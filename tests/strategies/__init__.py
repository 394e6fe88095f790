"""The test suite's generators: promoted to the public :mod:`bvverify.testing.strategies`
(users draw from the same ones); re-exported here so the tests keep importing
``tests.strategies``. Add new generators there, not here."""

from bvverify.testing.strategies import *  # noqa: F403
from bvverify.testing.strategies import __all__  # noqa: F401
