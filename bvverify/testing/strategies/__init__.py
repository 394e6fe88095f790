"""Hypothesis strategies for property-based tests of quantized networks (needs ``hypothesis``;
``bvverify`` and the rest of ``bvverify.testing`` do not). bvverify's own test suite draws
from these same generators.

- :mod:`.regions`: inputs inside a property's region: :func:`inputs_in` / :func:`codes_in` for
  a box, :func:`eps_ball` for an L-infinity ball around a sample (codes or float units),
  :func:`boxes_in` for sub-boxes; :func:`box_property` / :func:`ball_property` build the regions;
- :mod:`.ir`: small random integer networks built directly in the IR (:func:`networks`: every
  requantizer profile, 2..16-bit weights, zero points at the edges, pair saturation, conv /
  pooling), inputs for them, and a fixed tiny network (:func:`tiny_net`);
- :mod:`.boxes`: enumerable input boxes, output conditions near what a box reaches, and the
  enumeration (brute-force ground truth);
- :mod:`.elementwise`: AvgPool2d and Add networks with code boxes and tight conditions aimed at
  their vector / scalar paths;
- :mod:`.torch_models`: quantized torch models (plain-data specs, built per quantized engine),
  their inputs, the importer's deliberate refusals, and a fixed pair-saturating model; torch is
  imported only when a model is built;
- :mod:`.balance`: floors on what a generated suite exercised (verdict shares, saturation counts).
"""

from bvverify.testing.strategies.balance import Tally
from bvverify.testing.strategies.boxes import MAX_POINTS, allocate_radii, boxes, conditions, enumerate_box
from bvverify.testing.strategies.elementwise import (
    SMALL_BOX_POINTS,
    add_nets,
    avgpool_nets,
    scales,
    small_code_box,
    tight_conditions,
    varying_outputs,
)
from bvverify.testing.strategies.ir import dense_block, inputs_for, networks, requant, tiny_net, zero_points
from bvverify.testing.strategies.regions import ball_property, box_property, boxes_in, codes_in, eps_ball, inputs_in
from bvverify.testing.strategies.torch_models import (
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
    "Stage", "Tally", "add_nets", "allocate_radii", "avgpool_nets", "ball_property", "box_property", "boxes",
    "boxes_in", "build_quantized", "built_models", "codes_in", "conditions", "dense_block", "enumerate_box",
    "eps_ball", "inputs_for", "inputs_in", "make_inputs", "model_specs", "networks", "quantized_engine", "requant",
    "saturating_linear", "scales", "small_code_box", "tight_conditions", "tiny_net", "varying_outputs", "zero_points",
]
