"""Runtime profiles: each module registers one exact requantizer."""

from bvverify.runtimes import fbgemm, gemmlowp, onednn, onnxruntime, ort_integer, pow2, qnnpack  # noqa: F401
from bvverify.runtimes.base import Profile, StepTable, get_profile, profile_names, step_table

__all__ = ["Profile", "StepTable", "get_profile", "profile_names", "step_table"]
