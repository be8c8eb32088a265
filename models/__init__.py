"""Kinesonic models (no ComfyUI imports): the twin-tower sounding-video generator.

See docs/generator.md. Main entry points::

    from kinesonic.models import GeneratorConfig, KinesonicModel, save_checkpoint, load_checkpoint
"""

from .checkpoint import (
    CheckpointError,
    attach_vocoder,
    check_cond_time,
    compare_state,
    load_checkpoint,
    read_metadata,
    save_checkpoint,
    trained_max_cond_time,
)
from .conditioning import Conditioning, cat_conditions
from .config import PRESETS, GeneratorConfig, micro_config, preset_config, tiny_config
from .flow import hybrid_source, interpolate, region_balanced_loss, sample_ode, schedule, shift_time
from .model import KinesonicModel
from .sampling import GUIDANCE, MODES
from .vocoder import SpectralVocoder, VocoderConfig

__all__ = [
    "check_cond_time",
    "GUIDANCE",
    "PRESETS",
    "MODES",
    "CheckpointError",
    "Conditioning",
    "GeneratorConfig",
    "KinesonicModel",
    "SpectralVocoder",
    "VocoderConfig",
    "attach_vocoder",
    "cat_conditions",
    "compare_state",
    "hybrid_source",
    "interpolate",
    "load_checkpoint",
    "read_metadata",
    "region_balanced_loss",
    "sample_ode",
    "save_checkpoint",
    "schedule",
    "shift_time",
    "micro_config",
    "preset_config",
    "tiny_config",
    "trained_max_cond_time",
]
