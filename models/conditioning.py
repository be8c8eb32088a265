"""What the generator is conditioned on: the :class:`Conditioning` of a clip (first-frame latent,
trajectory latent and masks, prompt ids, kinematic and physics inputs), how it is built from a first
frame, a prompt, tracks and physics (:func:`build_conditioning`), batched (:func:`cat_conditions`),
ablated and dropped (the CFG negative).

Shapes: video latent ``[B, C, L, h, w]`` (L latent frames); kinematic states ``[B, L, N, 8]`` for N
objects; physics ``[B, T, N, 2]`` (mass kg, speed m/s at each of the T video frames) with a validity
mask of the same shape (:func:`physics_tensors`). See docs/generator.md, *Conditions*.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..kinematics import Tracks, align_to_latent, latent_kinematic_state
from .trajectory import propagate_first_frame

if TYPE_CHECKING:
    from .model import KinesonicModel

#: Longest clip a model generates, as a multiple of the frames it was trained on (docs/runner.md).
MAX_CLIP_FACTOR = 4


def max_clip_frames(cfg: object) -> int:
    """Most video frames :func:`build_conditioning` accepts for a model of config ``cfg``."""
    return MAX_CLIP_FACTOR * int(cfg.num_frames)  # type: ignore[attr-defined]


@dataclass
class Conditioning:
    """Everything the generator is conditioned on, batch-first.

    Attributes:
        latent_frames: L, the number of video latent frames.
        first_latent: ``[B, C, h, w]`` or None (frame 0 then generated freely).
        traj_latent: ``[B, C, L, h, w]`` trajectory-conditioned latent (zeros where unknown).
        traj_mask: ``[B, 1, L, h, w]`` binary (1 on all of frame 0 when a first frame is given).
        soft_mask: ``[B, 1, L, h, w]`` Gaussian soft mask (loss weighting only).
        text_ids: ``[B, max_tokens]`` prompt token ids (all 0 = null text).
        kin: ``[B, L, N, 8]`` normalised kinematic features or None; ``kin_mask [B, L, N]`` bool.
        physics: ``[B, T, N, 2]`` (mass kg, speed m/s per video frame) or None; ``physics_mask``
            ``[B, T, N, 2]`` bool (False = not known: an estimate's NaN, a padded object, a drop).
        audio_keep: ``[B, Na]`` bool or None: the audio tokens video queries may attend to (stream-aware
            audio-to-video, :mod:`.streams`; None = all). It describes the given sound, not a
            condition to drop, so the CFG negative keeps it.
        music: ``[B, 2 * n_mels]`` the music FiLM's input (a given soundtrack's music stem,
            :meth:`.model.KinesonicModel.music_vector`) or None; ``music_mask [B]`` bool (False = no
            music). Only for a model with ``cfg.music_film``; dropped in the CFG negative.
    """

    latent_frames: int
    first_latent: torch.Tensor | None
    traj_latent: torch.Tensor
    traj_mask: torch.Tensor
    soft_mask: torch.Tensor
    text_ids: torch.Tensor
    kin: torch.Tensor | None = None
    kin_mask: torch.Tensor | None = None
    physics: torch.Tensor | None = None
    physics_mask: torch.Tensor | None = None
    audio_keep: torch.Tensor | None = None
    music: torch.Tensor | None = None
    music_mask: torch.Tensor | None = None

    @property
    def batch(self) -> int:
        return int(self.traj_latent.shape[0])

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> Conditioning:
        """A copy on ``device`` with floating tensors cast to ``dtype`` (masks and ids keep theirs)."""

        def move(x: torch.Tensor | None) -> torch.Tensor | None:
            if x is None:
                return None
            return x.to(device=device, dtype=dtype if x.is_floating_point() else None)

        return replace(
            self,
            **{f.name: move(getattr(self, f.name)) for f in fields(self) if f.name != "latent_frames"},
        )

    def with_music(self, features: torch.Tensor, known: torch.Tensor | None = None) -> Conditioning:
        """A copy with the music FiLM's input ``features [B, 2 * n_mels]`` (``known [B]`` bool, default
        all) on this conditioning's device."""
        dev = self.traj_latent.device
        if features.dim() != 2 or features.shape[0] != self.batch:
            raise ValueError(
                f"music features [B={self.batch}, 2 * n_mels] expected, got {tuple(features.shape)}"
            )
        known = torch.ones(self.batch, dtype=torch.bool) if known is None else known.bool()
        return replace(
            self, music=features.to(device=dev, dtype=self.traj_latent.dtype), music_mask=known.to(dev)
        )

    def video_cond(self) -> torch.Tensor:
        """``[B, C + 1, L, h, w]``: trajectory latent and binary mask (the video tower's extra input)."""
        return torch.cat([self.traj_latent, self.traj_mask], dim=1)

    def ablated(self, no_kinematics: bool = False, no_trajectory: bool = False) -> Conditioning:
        """The conditioning a model trained with these ablation switches sees (self if neither).

        ``no_kinematics``: no kinematic tokens. ``no_trajectory``: no kinematic tokens either, and the
        trajectory latent, its mask and the soft mask are cleared after latent frame 0 (frame 0 keeps
        the first frame).
        """
        if not (no_kinematics or no_trajectory):
            return self
        cond = replace(self, kin=None, kin_mask=None)
        if no_trajectory:
            traj, mask, soft = self.traj_latent.clone(), self.traj_mask.clone(), self.soft_mask.clone()
            traj[:, :, 1:] = 0
            mask[:, :, 1:] = 0
            soft[:, :, 1:] = 0
            cond = replace(cond, traj_latent=traj, traj_mask=mask, soft_mask=soft)
        return cond

    def dropped(self) -> Conditioning:
        """The null conditioning (CFG negative): no text, trajectories, kinematics, physics or music.

        The first frame stays (its latent is re-imposed on the state anyway).
        """
        return replace(
            self,
            traj_latent=torch.zeros_like(self.traj_latent),
            traj_mask=torch.zeros_like(self.traj_mask),
            text_ids=torch.zeros_like(self.text_ids),
            kin=None,
            kin_mask=None,
            physics=None,
            physics_mask=None,
            music=None,
            music_mask=None,
        )


def read_physics(physics: Any) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Check a PHYSICS value and return ``(masses_kg [N], velocity_mps [T, N, 2], fps or None)``
    (float64; NaN allowed). Raises ValueError saying what was expected."""
    if not isinstance(physics, dict) or "masses_kg" not in physics or "velocity_mps" not in physics:
        raise ValueError('a PHYSICS dict with "masses_kg" [N] and "velocity_mps" [T, N, 2] was expected')
    mass = np.asarray(physics["masses_kg"], dtype=np.float64).reshape(-1)
    vel = np.asarray(physics["velocity_mps"], dtype=np.float64)
    n = mass.shape[0]
    if vel.ndim != 3 or vel.shape[1:] != (n, 2) or vel.shape[0] < 1:
        raise ValueError(f"velocity_mps of shape [T, {n}, 2] for {n} masses was expected, got {vel.shape}")
    fps = physics.get("fps")
    if fps is not None and (
        isinstance(fps, bool) or not isinstance(fps, (int, float)) or not np.isfinite(fps) or fps <= 0
    ):
        raise ValueError(f"a positive fps was expected, got {fps!r}")
    return mass, vel, None if fps is None else float(fps)


def physics_tensors(physics: dict[str, Any], frames: int, fps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The generator's physics input from a PHYSICS value (the simulator's or an estimate).

    Args:
        physics: a dict with ``masses_kg [N]`` (kg) and ``velocity_mps [T0, N, 2]`` (m/s), optional
            ``fps`` (its frame rate; default ``fps``). NaN (not estimated) is allowed anywhere.
        frames, fps: the clip's video frames and frame rate.
    Returns:
        ``(values [1, frames, N, 2], mask [1, frames, N, 2])``: mass (kg, the same at every frame) and
        speed (m/s, linearly interpolated at the clip's frame times), and whether each is known
        (finite; a positive mass; a frame inside the PHYSICS clip between two known velocities).
        Unknown values are 0.
    Raises:
        ValueError: when the keys are missing or the shapes disagree.
    """
    mass, vel, src_fps = read_physics(physics)
    src_fps, n = src_fps or float(fps), mass.shape[0]
    speed = np.linalg.norm(vel, axis=-1)  # [T0, N]; NaN where not estimated
    pos = np.arange(frames, dtype=np.float64) / float(fps) * src_fps  # clip frame -> PHYSICS frame
    i0 = np.clip(np.floor(pos).astype(np.int64), 0, speed.shape[0] - 1)
    w = (pos - i0)[:, None]
    i1 = np.clip(np.where(w[:, 0] > 0, i0 + 1, i0), 0, speed.shape[0] - 1)  # on a frame: that frame only
    inside = (pos <= speed.shape[0] - 1 + 1e-9)[:, None]
    s = (1 - w) * speed[i0] + w * speed[i1]
    s_ok = inside & np.isfinite(speed[i0]) & np.isfinite(speed[i1])
    m_ok = np.broadcast_to(np.isfinite(mass) & (mass > 0), (frames, n))
    values = np.stack([np.broadcast_to(np.where(m_ok, mass, 0.0), (frames, n)), np.where(s_ok, s, 0.0)], -1)
    mask = np.stack([m_ok, s_ok], -1)
    return torch.from_numpy(values.astype(np.float32))[None], torch.from_numpy(mask.copy())[None]


def build_conditioning(
    model: KinesonicModel,
    first_frame: torch.Tensor | None = None,
    prompt: str = "",
    tracks: Tracks | None = None,
    kinematics: np.ndarray | None = None,
    kinematics_mask: np.ndarray | None = None,
    physics: dict[str, Any] | None = None,
    num_frames: int | None = None,
    seed: int = 0,
    soft_sigma: float = 1.0,
) -> Conditioning:
    """Conditioning for one clip (B = 1) on ``model``'s device and dtype.

    Args:
        first_frame: ``[3, H, W]`` or ``[1, 3, H, W]`` in 0..1 (must match the config size).
        prompt: text prompt ("" = null text).
        tracks: pixel tracks of the clip (width/height must match the config); their frame
            count sets the clip length (else ``num_frames``, else ``cfg.num_frames``).
        kinematics: raw 8-D states ``[L, N, 8]`` on latent frames (default: computed from the
            tracks with ``latent_kinematic_state(tracks, stride)``: differentiated at the
            video frame rate, then averaged per latent group); ``kinematics_mask [L, N]``.
        physics: a PHYSICS dict (``masses_kg [N]``, ``velocity_mps [T, N, 2]``, ``fps``; the
            simulator's or an estimate with NaN where unknown), optional: :func:`physics_tensors`.
        seed: seed of the collision choice in the trajectory latent.
        soft_sigma: sigma (latent cells) of the Gaussian soft mask.
    """
    from ..kinematics.grid import project_to_grid, soft_trajectory_mask

    cfg = model.cfg
    frames = tracks.num_frames if tracks is not None else (num_frames or cfg.num_frames)
    limit = max_clip_frames(cfg)
    if frames > limit:  # memory and time grow with the clip (attention: quadratically)
        raise ValueError(
            f"a clip of {frames} frames is longer than this model makes: at most {limit} frames "
            f"({MAX_CLIP_FACTOR} x the {cfg.num_frames} frames it was trained on); shorten the tracks"
        )
    lf = cfg.latent_frames(frames)
    h, w, c = cfg.latent_height, cfg.latent_width, cfg.video_channels
    first_latent = None
    if first_frame is not None:
        img = first_frame if first_frame.dim() == 4 else first_frame[None]
        model.check_size(img.shape[-2], img.shape[-1], "first frame")
        with torch.no_grad():
            first_latent = model.video_ae.encode_first(img.to(device=model.device, dtype=model.dtype))
        first_latent = first_latent.cpu()  # the rest is built on the CPU, then moved
    dtype = torch.float32 if first_latent is None else first_latent.dtype
    traj = torch.zeros(1, c, lf, h, w, dtype=dtype, device="cpu")
    mask = torch.zeros(1, 1, lf, h, w, dtype=dtype, device="cpu")
    kin = kin_mask = None
    if tracks is not None:
        if (tracks.width, tracks.height) != (cfg.width, cfg.height):
            raise ValueError(
                f"tracks are for a {tracks.width}x{tracks.height} image but this model expects "
                f"{cfg.width}x{cfg.height}"
            )
        visible_tracks = tracks.drop_never_visible()
        aligned = align_to_latent(visible_tracks, cfg.temporal_stride)
        if first_latent is not None:
            cells = project_to_grid(aligned.points, cfg.spatial_factor, cfg.width, cfg.height)
            t_lat, t_mask = propagate_first_frame(first_latent[0], cells, aligned.visible, seed)
            traj, mask = t_lat[None], t_mask[None, None]
        if kinematics is None and visible_tracks.num_frames >= 4 and visible_tracks.num_tracks > 0:
            kinematics = latent_kinematic_state(visible_tracks, cfg.temporal_stride)
            kinematics_mask = aligned.visible
    elif first_latent is not None:
        traj[:, :, 0] = first_latent
        mask[:, :, 0] = 1
    if kinematics is not None:
        state = np.asarray(kinematics, dtype=np.float64)
        if state.ndim != 3 or state.shape[0] != lf or state.shape[2] != cfg.kin_dim:
            raise ValueError(f"kinematics must have shape [L={lf}, N, {cfg.kin_dim}], got {state.shape}")
        kin = torch.from_numpy(model.kinematic_stats.normalize(state)).float()[None]
        km = np.ones(state.shape[:2], bool) if kinematics_mask is None else np.asarray(kinematics_mask, bool)
        kin_mask = torch.from_numpy(km.copy())[None]
    soft = torch.from_numpy(soft_trajectory_mask((mask[0, 0] > 0.5).numpy(), soft_sigma))[None, None]
    phys = phys_mask = None
    if physics is not None:
        phys, phys_mask = physics_tensors(physics, cfg.video_frames(lf), cfg.fps)
    cond = Conditioning(
        latent_frames=lf,
        first_latent=first_latent,
        traj_latent=traj,
        traj_mask=mask,
        soft_mask=soft.float(),
        text_ids=model.text.tokenize([prompt]),
        kin=kin,
        kin_mask=kin_mask,
        physics=phys,
        physics_mask=phys_mask,
    )
    return cond.to(model.device, model.dtype)


def cat_conditions(*conds: Conditioning) -> Conditioning:
    """Concatenate conditionings along the batch (kinematic/physics objects padded with masked rows)."""
    first = conds[0]
    lf = first.latent_frames
    if any(c.latent_frames != lf for c in conds):
        raise ValueError("cannot batch conditionings with different latent frame counts")
    b = [c.batch for c in conds]
    dev, dt = first.traj_latent.device, first.traj_latent.dtype
    fl = None
    if all(c.first_latent is not None for c in conds):
        fl = torch.cat([c.first_latent for c in conds])
    elif any(c.first_latent is not None for c in conds):
        raise ValueError("cannot batch conditionings with and without a first frame")

    def pad_objects(key: str, mkey: str) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Pad ``[b, X, N, D]`` values and their masks (``[b, X, N]`` or ``[b, X, N, D]``) to the most
        objects N; a conditioning without them gets all-masked rows."""
        vals = [getattr(c, key) for c in conds]
        if all(v is None for v in vals):
            return None, None
        ref = next(v for v in vals if v is not None)
        full_mask = key == "physics"  # one flag per value, not per object
        n = max(v.shape[2] for v in vals if v is not None)
        out, masks = [], []
        for c, v, bi in zip(conds, vals, b, strict=True):
            m = getattr(c, mkey)
            full = torch.zeros(bi, ref.shape[1], n, ref.shape[3], dtype=dt, device=dev)
            fm = torch.zeros(full.shape if full_mask else full.shape[:3], dtype=torch.bool, device=dev)
            if v is not None:
                full[:, :, : v.shape[2]] = v
                fm[:, :, : v.shape[2]] = m if m is not None else True
            out.append(full)
            masks.append(fm)
        return torch.cat(out), torch.cat(masks)

    kin, kin_mask = pad_objects("kin", "kin_mask")
    phys, phys_mask = pad_objects("physics", "physics_mask")
    keeps = [c.audio_keep for c in conds]
    audio_keep = None
    if any(k is not None for k in keeps):  # a conditioning without stream intervals keeps every token
        na = next(k for k in keeps if k is not None).shape[1]
        audio_keep = torch.cat([
            torch.ones(bi, na, dtype=torch.bool, device=dev) if k is None else k.to(dev).bool()
            for k, bi in zip(keeps, b, strict=True)
        ])  # fmt: skip
    music = music_mask = None
    if any(c.music is not None for c in conds):  # a conditioning without music: zeros, unknown
        dim = next(c.music for c in conds if c.music is not None).shape[1]
        music = torch.cat([
            torch.zeros(bi, dim, dtype=dt, device=dev) if c.music is None else c.music.to(dev, dt)
            for c, bi in zip(conds, b, strict=True)
        ])  # fmt: skip
        flags = [
            torch.full((bi,), c.music is not None, dtype=torch.bool, device=dev)
            if c.music is None or c.music_mask is None
            else c.music_mask.to(dev).bool()
            for c, bi in zip(conds, b, strict=True)
        ]
        music_mask = torch.cat(flags)
    return Conditioning(
        latent_frames=lf,
        first_latent=fl,
        traj_latent=torch.cat([c.traj_latent for c in conds]),
        traj_mask=torch.cat([c.traj_mask for c in conds]),
        soft_mask=torch.cat([c.soft_mask for c in conds]),
        text_ids=torch.cat([c.text_ids for c in conds]),
        kin=kin,
        kin_mask=kin_mask,
        physics=phys,
        physics_mask=phys_mask,
        audio_keep=audio_keep,
        music=music,
        music_mask=music_mask,
    )
