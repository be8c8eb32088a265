"""Training nodes: a dataset node and a trainer node (autoencoders, then the twin DiT).

Thin shells over ``training/`` (imported inside the functions). Folders are resolved in the output
folder (ComfyUI's ``output/``, headless ``$KINESONIC_OUTPUT`` or ``./output``) and must stay inside
it (annotated clips may also come from the input folder); exports and vocoder writes stay inside
the model folders or the output folder (docs/files.md; headless ``--allow-any-path`` lifts this).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from . import bridge
from .base import CATEGORY_ROOT, NodeInputError
from .sockets import image_output

CATEGORY = f"{CATEGORY_ROOT}/Train"
TRAIN_DATA = "KINESONIC_TRAIN_DATA"
SOURCES = ("physics_world_shards", "physics_world_on_the_fly", "annotated_clips_folder")
ABLATION_CHOICES = ("none", "no_kinematics", "no_hybrid_flow", "no_trajectory", "no_physics")
RUNS_FOLDER = "kinesonic_train"
# The measured vocoder recipe (docs/generator.md, Learned vocoder); the node's defaults.
VOCODER_DEFAULTS = {
    "steps": 10000,
    "batch_size": 16,
    "lr": 2e-3,
    "input_noise": 0.1,
    "checkpoint_every": 1000,
}


def _confined(node: str, input_name: str, name: str, roots: list[Path], what: str) -> Path:
    """``name`` inside one of ``roots`` (relative to the first), or a NodeInputError."""
    from ..media import PathOutsideError

    try:
        return bridge.confined_write_path(name, roots, node, input_name, what)
    except PathOutsideError:
        where = ", ".join(str(r) for r in roots)
        raise NodeInputError(node, input_name, f"a {what} inside {where} (see docs/files.md)", name) from None


def _int_input(default: int, lo: int, hi: int, tip: str) -> tuple:
    return ("INT", {"default": default, "min": lo, "max": hi, "tooltip": tip})


def _float_input(default: float, lo: float, hi: float, step: float, tip: str) -> tuple:
    return ("FLOAT", {"default": default, "min": lo, "max": hi, "step": step, "tooltip": tip})


class KinesonicTrainingData:
    DISPLAY_NAME = "Training Data"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Training clips for 'Trainer': physics-world shards (generated into the folder first "
        "if it has none; resumable), physics-world clips made on the fly, or a folder of clips annotated "
        "by 'kinesonic annotate'."
    )
    RETURN_TYPES = (TRAIN_DATA,)
    RETURN_NAMES = ("data",)
    OUTPUT_TOOLTIPS = ("The dataset description the trainer opens.",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "source": (list(SOURCES), {"default": SOURCES[0], "tooltip": "Where the clips come from."}),
                "folder": (
                    "STRING",
                    {
                        "default": f"{RUNS_FOLDER}/world64",
                        "tooltip": "Shard or annotation folder (relative = inside the output folder). "
                        "Unused for on-the-fly clips.",
                    },
                ),
                "num_clips": (
                    "INT",
                    {
                        "default": 20000,
                        "min": 1,
                        "max": 10_000_000,
                        "tooltip": "Physics-world clips (shards: generated when missing).",
                    },
                ),
                "seed": (
                    "INT",
                    {"default": 0, "min": 0, "max": 2**31 - 1, "tooltip": "Base seed of the world clips."},
                ),
                "size": (
                    "INT",
                    {"default": 64, "min": 16, "max": 1024, "step": 8, "tooltip": "Frame size (px)."},
                ),
                "num_frames": ("INT", {"default": 33, "min": 5, "max": 1024, "tooltip": "Frames per clip."}),
            }
        }

    def run(self, source, folder, num_clips, seed, size, num_frames):
        node = self.DISPLAY_NAME
        if source not in SOURCES:
            raise NodeInputError(node, "source", f"one of {SOURCES}", source)
        if source == "physics_world_on_the_fly":
            spec = f"synth:{int(num_clips)}"
        else:
            roots = [bridge.output_dir()]
            if source == "annotated_clips_folder":
                roots.append(bridge.input_dir())
            root = _confined(node, "folder", folder, roots, "folder")
            if source == "physics_world_shards":
                # Always through the writer: complete shards are skipped (resume), and a folder made
                # with another size / seed / frame count is refused instead of used silently.
                from ..data import write_shards

                root.mkdir(parents=True, exist_ok=True)
                try:
                    write_shards(root, int(num_clips), int(seed), int(size), int(num_frames))
                except ValueError as error:
                    blamed = "folder" if "other settings" in str(error) else "num_clips"
                    raise NodeInputError.because(node, blamed, error) from None
            elif not root.is_dir():
                raise NodeInputError(node, "folder", "an existing folder of annotated clips", str(root))
            spec = os.fspath(root)
        return ({"spec": spec, "seed": int(seed), "size": int(size), "num_frames": int(num_frames)},)


class KinesonicTrainer:
    DISPLAY_NAME = "Trainer"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Train the generator: autoencoder stage, then the twin DiT (AdamW, warm-up + cosine learning rate, "
        "gradient clipping, EMA, logit-normal flow times, condition dropout). Checkpoints are written "
        "atomically every N steps and a re-run resumes from the last one (with the optimizer state)."
    )
    RETURN_TYPES = ("STRING", "IMAGE")
    RETURN_NAMES = ("checkpoint_path", "loss_curve")
    OUTPUT_TOOLTIPS = (
        "The trained generator (.safetensors, EMA weights; loadable by 'Load Generator').",
        "Loss curves of both stages.",
    )
    OUTPUT_NODE = True
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        from ..models.config import PRESETS

        i, f = _int_input, _float_input
        return {
            "required": {
                "data": (TRAIN_DATA, {"tooltip": "From 'Training Data'."}),
                "model_config": (list(PRESETS), {"default": "tiny", "tooltip": "Generator size (a preset)."}),
                "run_name": (
                    "STRING",
                    {
                        "default": "tiny_default",
                        "tooltip": f"Run folder: output/{RUNS_FOLDER}/<run_name> (state, log, model). "
                        "An existing run resumes.",
                    },
                ),
                "ae_steps": i(3000, 0, 10_000_000, "Autoencoder stage: optimiser steps."),
                "ae_learning_rate": f(1e-3, 1e-6, 1.0, 1e-5, "Autoencoder learning rate."),
                "ae_batch_size": i(8, 1, 4096, "Autoencoder batch (clips)."),
                "ae_frames": i(5, 2, 1024, "Frames per autoencoder training window."),
                "dit_steps": i(6500, 0, 10_000_000, "Twin-DiT stage: optimiser steps."),
                "learning_rate": f(4e-4, 1e-7, 1.0, 1e-5, "DiT peak learning rate (AdamW)."),
                "warmup_steps": i(50, 0, 1_000_000, "Linear warm-up steps (then cosine to 10 %)."),
                "batch_size": i(8, 1, 4096, "DiT batch (global, split over torchrun ranks)."),
                "grad_clip": f(1.0, 0.0, 1000.0, 0.01, "Gradient norm clip."),
                "ema_decay": f(0.999, 0.0, 0.99999, 0.0001, "EMA decay of the exported weights."),
                "time_mean": f(0.0, -5.0, 5.0, 0.01, "Logit-normal flow time: mean."),
                "time_std": f(1.0, 0.01, 5.0, 0.01, "Logit-normal flow time: std."),
                "condition_dropout": f(0.1, 0.0, 1.0, 0.01, "Drop probability of text, kinematics, physics."),
                "trajectory_dropout": f(0.1, 0.0, 1.0, 0.01, "Drop probability of the trajectory channels."),
                "seed": ("INT", {"default": 0, "min": 0, "max": 2**31 - 1, "tooltip": "Run seed."}),
                "checkpoint_every": i(100, 1, 10_000_000, "Steps between checkpoints."),
                "threads": i(1, 0, 256, "torch threads (0 = leave torch's setting)."),
                "ablation": (
                    list(ABLATION_CHOICES),
                    {"default": "none", "tooltip": "Train an ablation (for the evaluation table)."},
                ),
            },
            "optional": {
                "export_name": (
                    "STRING",
                    {
                        "default": "",
                        "tooltip": "Also copy the trained model to models/kinesonic/<export_name> ('' = no).",
                    },
                ),
                "init_autoencoder": (
                    ["none", *bridge.list_models("kinesonic", (".safetensors",))],
                    {
                        "default": "none",
                        "tooltip": "Start from this generator's video autoencoder (models/kinesonic; its "
                        "video size must match). With ae_steps 0 it is used as it is.",
                    },
                ),
            },
        }

    def run(self, data, model_config, run_name, **kw):
        from ..training import init_distributed, loss_curve_image, read_log, train

        node = self.DISPLAY_NAME
        if not isinstance(data, dict) or "spec" not in data:
            raise NodeInputError(node, "data", "a KINESONIC_TRAIN_DATA from 'Training Data'", data)
        if not run_name or "/" in run_name or "\\" in run_name or run_name in (".", ".."):
            raise NodeInputError(node, "run_name", "a plain folder name", run_name)
        ablation = kw.pop("ablation", "none")
        if ablation not in ABLATION_CHOICES:
            raise NodeInputError(node, "ablation", f"one of {ABLATION_CHOICES}", ablation)
        init_name = kw.pop("init_autoencoder", "none") or "none"
        if init_name != "none":
            kw["init_autoencoder"] = os.fspath(
                bridge.resolve_model("kinesonic", init_name, node, "init_autoencoder")
            )
        export_name = (kw.pop("export_name", "") or "").strip()
        export_target = None
        if export_name:  # checked before training, so a bad name does not cost a run
            if not export_name.endswith(".safetensors"):
                export_name += ".safetensors"
            folders = bridge.writable_model_folders("kinesonic")[:1]
            export_target = _confined(node, "export_name", export_name, folders, "file name")
        out_dir = bridge.output_dir() / RUNS_FOLDER / run_name
        try:
            cfg = train_config(data, model_config, out_dir, ablation, **kw)
        except ValueError as error:
            raise NodeInputError.because(node, "data", error) from None
        init_distributed()  # no-op unless launched under torchrun
        total = cfg.ae_steps + cfg.dit_steps
        callback, bar = bridge.progress_callback(max(total, 1), "Train")
        threads = torch.get_num_threads()  # `threads` is for training only: later nodes keep theirs
        try:
            # ComfyUI runs every prompt under torch.inference_mode(): training needs autograd back
            with bar, torch.inference_mode(False), torch.enable_grad():
                result = train(cfg, callback=callback, log=lambda msg: print(f"[{node}] {msg}", flush=True))
        except (ValueError, FileNotFoundError) as error:
            raise NodeInputError.because(node, "data", error) from None
        finally:
            torch.set_num_threads(threads)
        from ..media import atomic_output
        from ..media.image import write_png

        picture = loss_curve_image(read_log(result.log))
        png = write_png(out_dir / "loss_curve.png", picture)
        path = result.checkpoint
        if export_target is not None:
            import shutil

            with atomic_output(export_target) as tmp_model:
                shutil.copyfile(path, tmp_model)
            print(f"[{node}] exported {export_target}", flush=True)
            path = export_target
        entry = {"filename": png.name, "subfolder": f"{RUNS_FOLDER}/{run_name}", "type": "output"}
        return {"ui": {"images": [entry]}, "result": (os.fspath(path), image_output(picture))}


class KinesonicTrainVocoder:
    DISPLAY_NAME = "Train Vocoder"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Train the learned mel-to-spectrum vocoder on the clips' sound and write it into a generator "
        "checkpoint, which then decodes its sound with it instead of plain Griffin-Lim. Checkpoints are "
        "written atomically every N steps and a re-run resumes from the last one."
    )
    RETURN_TYPES = ("STRING", "IMAGE")
    RETURN_NAMES = ("checkpoint_path", "loss_curve")
    OUTPUT_TOOLTIPS = ("The generator checkpoint, now carrying the vocoder.", "Vocoder loss curve.")
    OUTPUT_NODE = True
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        i, f = _int_input, _float_input
        return {
            "required": {
                "data": (TRAIN_DATA, {"tooltip": "From 'Training Data': the sound is used."}),
                "checkpoint_path": (
                    "STRING",
                    {
                        "forceInput": True,
                        "tooltip": "Generator checkpoint (e.g. the Trainer's output) to write the vocoder "
                        "into; its audio settings are the vocoder's.",
                    },
                ),
                "run_name": (
                    "STRING",
                    {
                        "default": "tiny_vocoder",
                        "tooltip": f"Run folder: output/{RUNS_FOLDER}/<run_name>. An existing run resumes.",
                    },
                ),
                "steps": i(VOCODER_DEFAULTS["steps"], 0, 10_000_000, "Optimiser steps."),
                "batch_size": i(VOCODER_DEFAULTS["batch_size"], 1, 4096, "Crops per step."),
                "learning_rate": f(VOCODER_DEFAULTS["lr"], 1e-7, 1.0, 1e-5, "Peak learning rate (AdamW)."),
                "input_noise": f(
                    VOCODER_DEFAULTS["input_noise"],
                    0.0,
                    10.0,
                    0.01,
                    "Largest noise std added to the normalised log-mel input (robustness to generated mels).",
                ),  # fmt: skip
                "seed": ("INT", {"default": 0, "min": 0, "max": 2**31 - 1, "tooltip": "Run seed."}),
                "checkpoint_every": i(
                    VOCODER_DEFAULTS["checkpoint_every"], 1, 10_000_000, "Steps between checkpoints."
                ),
                "threads": i(1, 0, 256, "torch threads (0 = leave torch's setting)."),
            }
        }

    def run(self, data, checkpoint_path, run_name, **kw):
        from ..models import CheckpointError, attach_vocoder
        from ..training.vocoder import (
            VocoderTrainConfig,
            load_vocoder,
            train_vocoder,
            write_loss_curve,
        )

        node = self.DISPLAY_NAME
        if not isinstance(data, dict) or "spec" not in data:
            raise NodeInputError(node, "data", "a KINESONIC_TRAIN_DATA from 'Training Data'", data)
        if not run_name or "/" in run_name or "\\" in run_name or run_name in (".", ".."):
            raise NodeInputError(node, "run_name", "a plain folder name", run_name)
        roots = [bridge.output_dir(), *bridge.writable_model_folders("kinesonic")]
        target = _confined(node, "checkpoint_path", str(checkpoint_path), roots, "generator checkpoint")
        if not target.is_file():
            raise NodeInputError(
                node, "checkpoint_path", "an existing generator .safetensors file", str(target)
            )
        out_dir = bridge.output_dir() / RUNS_FOLDER / run_name
        cfg = VocoderTrainConfig(
            data=data["spec"],
            data_seed=int(data.get("seed", 0)),
            out_dir=os.fspath(out_dir),
            generator=os.fspath(target),
            steps=int(kw["steps"]),
            batch_size=int(kw["batch_size"]),
            lr=float(kw["learning_rate"]),
            input_noise=float(kw["input_noise"]),
            seed=int(kw["seed"]),
            checkpoint_every=int(kw["checkpoint_every"]),
            threads=int(kw["threads"]),
        )
        callback, bar = bridge.progress_callback(max(cfg.steps, 1), "Train vocoder")
        threads = torch.get_num_threads()
        try:
            with bar, torch.inference_mode(False), torch.enable_grad():
                result = train_vocoder(
                    cfg, callback=callback, log=lambda msg: print(f"[{node}] {msg}", flush=True)
                )
            attach_vocoder(target, load_vocoder(result.vocoder))
            print(f"[{node}] wrote the vocoder into {target}", flush=True)
        except CheckpointError as error:
            raise NodeInputError.because(node, "checkpoint_path", error) from None
        except (ValueError, FileNotFoundError) as error:
            raise NodeInputError.because(node, "data", error) from None
        finally:
            torch.set_num_threads(threads)
        png = write_loss_curve(result.log, out_dir / "vocoder_loss_curve.png")
        from ..media import read_image

        image = image_output(read_image(png)[0])
        entry = {"filename": png.name, "subfolder": f"{RUNS_FOLDER}/{run_name}", "type": "output"}
        written = {"text": [f"vocoder written into {target}"]}
        return {"ui": {"images": [entry], **written}, "result": (os.fspath(target), image)}


_KW_TO_FIELD = {
    "ae_steps": "ae_steps",
    "ae_learning_rate": "ae_lr",
    "ae_batch_size": "ae_batch_size",
    "ae_frames": "ae_frames",
    "dit_steps": "dit_steps",
    "learning_rate": "lr",
    "warmup_steps": "warmup_steps",
    "batch_size": "batch_size",
    "grad_clip": "grad_clip",
    "ema_decay": "ema_decay",
    "time_mean": "time_mean",
    "time_std": "time_std",
    "condition_dropout": "cond_drop",
    "trajectory_dropout": "trajectory_drop",
    "seed": "seed",
    "checkpoint_every": "checkpoint_every",
    "threads": "threads",
    "init_autoencoder": "init_autoencoder",
}


def train_config(data: dict[str, Any], model_config: str, out_dir: Any, ablation: str = "none", **kw: Any):
    """The :class:`TrainConfig` the trainer node runs (also used to compare with a shipped model)."""
    from ..training import TrainConfig

    values = {_KW_TO_FIELD[k]: v for k, v in kw.items() if k in _KW_TO_FIELD}
    unknown = sorted(set(kw) - set(_KW_TO_FIELD))
    if unknown:
        raise ValueError(f"unknown trainer inputs {unknown}")
    for k in ("ae_steps", "ae_batch_size", "ae_frames", "dit_steps", "warmup_steps", "batch_size", "seed"):
        if _KW_TO_FIELD[k] in values:
            values[_KW_TO_FIELD[k]] = int(values[_KW_TO_FIELD[k]])
    if ablation == "no_physics":  # the trainer's switch is use_physics
        values["use_physics"] = False
    elif ablation != "none":
        values[ablation] = True
    return TrainConfig(
        data=data["spec"],
        data_seed=int(data.get("seed", 0)),
        model=model_config,
        out_dir=os.fspath(out_dir),
        **values,
    )


NODE_CLASS_MAPPINGS = {
    "KinesonicTrainingData": KinesonicTrainingData,
    "KinesonicTrainer": KinesonicTrainer,
    "KinesonicTrainVocoder": KinesonicTrainVocoder,
}
NODE_DISPLAY_NAME_MAPPINGS = {k: v.DISPLAY_NAME for k, v in NODE_CLASS_MAPPINGS.items()}
