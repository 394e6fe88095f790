"""The test suite's generators, in one place (the seed of a public ``bvverify.testing``).

- :mod:`.ir`: random integer networks built directly in the IR (every requantizer profile,
  2..16-bit weights, zero points at the edges, pair saturation, conv / pooling), their inputs,
  and a fixed tiny network;
- :mod:`.boxes`: enumerable input boxes, output conditions near what a box reaches, and the
  enumeration (brute-force ground truth);
- :mod:`.elementwise`: AvgPool2d and Add networks with code boxes and tight conditions aimed at
  their vector / scalar paths;
- :mod:`.torch_models`: quantized torch models (plain-data specs, built per quantized engine),
  their inputs, the importer's deliberate refusals, and a fixed pair-saturating model;
- :mod:`.balance`: the floors on what the generators produce (verdict shares, saturation counts).

Torch is imported only when a torch model is built.
"""

from tests.strategies.balance import Tally
from tests.strategies.boxes import MAX_POINTS, allocate_radii, boxes, conditions, enumerate_box
from tests.strategies.elementwise import (
    SMALL_BOX_POINTS,
    add_nets,
    avgpool_nets,
    scales,
    small_code_box,
    tight_conditions,
    varying_outputs,
)
from tests.strategies.ir import dense_block, inputs_for, networks, requant, tiny_net, zero_points
from tests.strategies.torch_models import (
    ENGINES,
    FAMILIES,
    REFUSALS,
    SAT_INPUT,
    ModelSpec,
    QConfigSpec,
    Stage,
    build_quantized,
    built_models,
    make_inputs,
    model_specs,
    quantized_engine,
    saturating_linear,
)

__all__ = [
    "ENGINES", "FAMILIES", "MAX_POINTS", "REFUSALS", "SAT_INPUT", "SMALL_BOX_POINTS", "ModelSpec", "QConfigSpec",
    "Stage", "Tally", "add_nets", "allocate_radii", "avgpool_nets", "boxes", "build_quantized", "built_models",
    "conditions", "dense_block", "enumerate_box", "inputs_for", "make_inputs", "model_specs", "networks",
    "quantized_engine", "requant", "saturating_linear", "scales", "small_code_box", "tight_conditions", "tiny_net",
    "varying_outputs", "zero_points",
]
