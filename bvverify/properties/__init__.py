"""Properties: input regions, output conditions, VNN-LIB and robustness queries."""

from bvverify.properties.spec import Linear, OutputCondition, Property

__all__ = ["Linear", "OutputCondition", "Property"]
