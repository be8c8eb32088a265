"""Test-only ComfyUI nodes: the peers Kinesonic's TRACKS and coordinates must work with.

Loaded into the integration tests' ComfyUI server (tests/support/comfy_server.py lists this folder
as an extra ``custom_nodes`` path). Written for these tests, mirroring the documented behaviour of:

- ComfyUI core's Wan-Move track nodes (``comfy_extras/nodes_wanmove.py``, newer than the tested
  ComfyUI 0.3.75): GenerateTracks, WanMoveTracksFromCoords, WanMoveConcatTrack,
  WanMoveVisualizeTracks, and the part of WanMoveTrackToVideo that reads TRACKS. Their TRACKS is a
  dict of exactly ``track_path`` float32 ``[T,N,2]`` pixels and ``track_visibility`` bool ``[T,N]``
  (torch, no fps, no size). Where 0.3.75 has the code (``comfy_extras.nodes_wan.parse_json_tracks``,
  ``pad_pts``, ``process_tracks``: the track path of the older ``WanTrackToVideo``), the real
  functions are called.
- KJNodes: AppendStringsToList (a Python list of strings on a STRING socket), JoinStringMulti,
  Points Editor's output (pixels rounded to integers, or divided by the size with normalize on),
  GetTrackRange, AddNoiseToTrackPath (``.clone()``, ``torch.randn_like``), CreateShapeMaskOnPath
  (one mask per point of one coordinate list).

``PeerTestInspect`` is an output node that reports what reached it as JSON text in the UI output,
so the tests can read values from /history.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch

CATEGORY = "kinesonic test peers"
TRACKS = "TRACKS"


def _string(default: str = "", force: bool = False) -> tuple:
    options: dict[str, Any] = {"default": default, "multiline": True}
    if force:
        options["forceInput"] = True
    return ("STRING", options)


def _int(default: int, lo: int = 0, hi: int = 100000) -> tuple:
    return ("INT", {"default": default, "min": lo, "max": hi})


def _float(default: float, lo: float = -1e6, hi: float = 1e6) -> tuple:
    return ("FLOAT", {"default": default, "min": lo, "max": hi, "step": 0.001})


def _core_tracks(path: torch.Tensor, visibility: torch.Tensor) -> dict:
    return {"track_path": path, "track_visibility": visibility}


class PeerTestText:
    """A literal STRING (what a Spline Editor or a text box hands on)."""

    CATEGORY = CATEGORY
    RETURN_TYPES = ("STRING",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"text": _string()}}

    def run(self, text):
        return (text,)


class PeerTestGenerateTracks:
    """Core GenerateTracks, straight paths: normalised start/end scaled by width/height, ``num_frames``
    points by a linear ramp, tracks spread perpendicular to the motion; float32 on the CPU."""

    CATEGORY = CATEGORY
    RETURN_TYPES = (TRACKS, "INT")
    RETURN_NAMES = ("tracks", "track_length")
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "width": _int(832, 16),
                "height": _int(480, 16),
                "start_x": _float(0.0, 0.0, 1.0),
                "start_y": _float(0.0, 0.0, 1.0),
                "end_x": _float(1.0, 0.0, 1.0),
                "end_y": _float(1.0, 0.0, 1.0),
                "num_frames": _int(81, 1),
                "num_tracks": _int(1, 1),
                "track_spread": _float(0.0, 0.0, 1.0),
            }
        }

    def run(self, width, height, start_x, start_y, end_x, end_y, num_frames, num_tracks, track_spread):
        ramp = torch.linspace(0, 1, num_frames)
        x = start_x * width + (end_x - start_x) * width * ramp
        y = start_y * height + (end_y - start_y) * height * ramp
        dx, dy = (end_x - start_x) * width, (end_y - start_y) * height
        norm = (dx * dx + dy * dy) ** 0.5
        px, py = (-dy / norm, dx / norm) if norm > 0 else (1.0, 0.0)
        spread = track_spread * (width + height) / 2
        offsets = [(n - (num_tracks - 1) / 2) * spread for n in range(num_tracks)]
        path = torch.stack([torch.stack([x + px * o, y + py * o], dim=-1) for o in offsets], dim=1)
        visible = torch.ones((num_frames, num_tracks), dtype=torch.bool)
        return (_core_tracks(path.to(torch.float32), visible), num_frames)


class PeerTestWanMoveTracksFromCoords:
    """Core WanMoveTracksFromCoords: KJNodes coordinate text → TRACKS, through core's own parser."""

    CATEGORY = CATEGORY
    RETURN_TYPES = (TRACKS, "INT")
    RETURN_NAMES = ("tracks", "track_length")
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"track_coords": _string("[]", force=True)}}

    def run(self, track_coords):
        from comfy_extras.nodes_wan import parse_json_tracks

        data = parse_json_tracks(track_coords)
        frames = len(data[0])
        path = torch.tensor(
            [[[track[t]["x"], track[t]["y"]] for track in data] for t in range(frames)], dtype=torch.float32
        )
        return (_core_tracks(path, torch.ones(path.shape[:2], dtype=torch.bool)), frames)


class PeerTestWanMoveConcatTrack:
    """Core WanMoveConcatTrack: ``torch.cat`` of paths on the track axis and of visibilities."""

    CATEGORY = CATEGORY
    RETURN_TYPES = (TRACKS,)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"tracks_1": (TRACKS,)}, "optional": {"tracks_2": (TRACKS,)}}

    def run(self, tracks_1, tracks_2=None):
        if tracks_2 is None:
            return (tracks_1,)
        path = torch.cat([tracks_1["track_path"], tracks_2["track_path"]], dim=1)
        visible = torch.cat([tracks_1["track_visibility"], tracks_2["track_visibility"]], dim=-1)
        return (_core_tracks(path, visible),)


class PeerTestWanMoveVisualizeTracks:
    """Core WanMoveVisualizeTracks, reduced to its placement: ``track_path.unsqueeze(0)``, ``.long()``,
    a filled disc of ``circle_size`` at each visible point, in image pixels (no rescaling); one image
    is repeated for all frames."""

    CATEGORY = CATEGORY
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"images": ("IMAGE",), "tracks": (TRACKS,), "circle_size": _int(2, 1)}}

    def run(self, images, tracks, circle_size):
        path = tracks["track_path"].unsqueeze(0).long()[0]
        visible = tracks["track_visibility"].unsqueeze(0)[0]
        frames = images
        if frames.shape[0] != path.shape[0]:
            frames = frames.repeat(path.shape[0] // frames.shape[0], 1, 1, 1)
        out = frames.clone()
        H, W = out.shape[1:3]
        yy, xx = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
        for t in range(path.shape[0]):
            for n in range(path.shape[1]):
                if not bool(visible[t, n]):
                    continue
                x, y = int(path[t, n, 0]), int(path[t, n, 1])
                disc = (xx - x) ** 2 + (yy - y) ** 2 <= circle_size**2
                out[t][disc] = 1.0
        return (out,)


class PeerTestWanMoveTrackPositions:
    """What core WanMoveTrackToVideo reads from TRACKS (its ``create_pos_embeddings``, 'sample'
    strategy): ``tracks["track_path"][:length]``, ``tracks.get("track_visibility")``, every 4th frame,
    a visible point inside ``width`` x ``height`` goes to latent cell ``(y // 8, x // 8)``, else
    ``(-1, -1)``. Returns the ``[N, T', 2]`` cells as JSON (the VAE part is left out)."""

    CATEGORY = CATEGORY
    RETURN_TYPES = ("STRING",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "tracks": (TRACKS,),
                "width": _int(832, 16),
                "height": _int(480, 16),
                "length": _int(81, 1),
            }
        }

    def run(self, tracks, width, height, length):
        path = tracks["track_path"][:length]
        T, N = path.shape[:2]
        visible = tracks.get("track_visibility", torch.ones((T, N), dtype=torch.bool))
        cells = -torch.ones(N, (T - 1) // 4 + 1, 2, dtype=torch.long)
        for t in range(0, T, 4):
            for n in range(N):
                x, y = path[t, n]
                if not bool(visible[t, n]) or x < 0 or y < 0 or x >= width or y >= height:
                    continue
                cells[n, t // 4, 0], cells[n, t // 4, 1] = int(y // 8), int(x // 8)
        return (json.dumps(cells.tolist()),)


class PeerTestWanTrackParse:
    """ComfyUI 0.3.75's own WanTrackToVideo track handling (real core functions): coordinate text →
    ``parse_json_tracks`` → ``pad_pts`` per track → ``process_tracks`` at ``width`` x ``height`` and
    ``length - 1`` frames. Returns the processed ``[F, N, 4]`` tensor as JSON (the VAE part is left out)."""

    CATEGORY = CATEGORY
    RETURN_TYPES = ("STRING",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "tracks": _string("[]", force=True),
                "width": _int(832, 16),
                "height": _int(480, 16),
                "length": _int(81, 1),
            }
        }

    def run(self, tracks, width, height, length):
        from comfy_extras.nodes_wan import pad_pts, parse_json_tracks, process_tracks

        data = parse_json_tracks(tracks)
        if data and isinstance(data[0][0], dict):
            data = [data]
        out = []
        for batch in data:
            arrays = np.stack([pad_pts(track) for track in batch], axis=0)
            out.append(process_tracks(arrays, (width, height), length - 1).tolist())
        return (json.dumps(out),)


class PeerTestAppendStringsToList:
    """KJNodes AppendStringsToList: both inputs as lists, concatenated (a Python list on a STRING socket)."""

    CATEGORY = CATEGORY
    RETURN_TYPES = ("STRING",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"string1": _string(force=True), "string2": _string(force=True)}}

    def run(self, string1, string2):
        first = string1 if isinstance(string1, list) else [string1]
        second = string2 if isinstance(string2, list) else [string2]
        return (first + second,)


class PeerTestJoinStringMulti:
    """KJNodes JoinStringMulti with two inputs: one string joined by ``delimiter``, or a list."""

    CATEGORY = CATEGORY
    RETURN_TYPES = ("STRING",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "string_1": _string(force=True),
                "delimiter": ("STRING", {"default": " "}),
                "return_list": ("BOOLEAN", {"default": False}),
            },
            "optional": {"string_2": _string(force=True)},
        }

    def run(self, string_1, delimiter, return_list, string_2=""):
        parts = [string_1] + ([string_2] if string_2 else [])
        return (parts if return_list else delimiter.join(parts),)


class PeerTestPointsEditor:
    """KJNodes Points Editor output ``positive_coords``: the canvas points rounded to whole pixels,
    divided by width / height when ``normalize`` is on; JSON text."""

    CATEGORY = CATEGORY
    RETURN_TYPES = ("STRING",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "points": _string('[{"x": 10, "y": 20}]'),
                "width": _int(512, 8),
                "height": _int(512, 8),
                "normalize": ("BOOLEAN", {"default": False}),
            }
        }

    def run(self, points, width, height, normalize):
        out = []
        for p in json.loads(points):
            x, y = int(round(p["x"])), int(round(p["y"]))
            out.append({"x": x / width, "y": y / height} if normalize else {"x": x, "y": y})
        return (json.dumps(out),)


class PeerTestGetTrackRange:
    """KJNodes GetTrackRange: frames ``start_index .. start_index + num_frames`` (negative start counts
    from the end), clamped; a new two-key dict (fps, size, labels are dropped)."""

    CATEGORY = CATEGORY
    RETURN_TYPES = (TRACKS,)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"tracks": (TRACKS,), "start_index": _int(0, -10000), "num_frames": _int(10, 1)}}

    def run(self, tracks, start_index, num_frames):
        path, visible = tracks["track_path"], tracks["track_visibility"]
        total = path.shape[0]
        start = total + start_index if start_index < 0 else start_index
        start = max(0, min(start, total))
        end = max(0, min(start + num_frames, total))
        return (_core_tracks(path[start:end, ...], visible[start:end, ...]),)


class PeerTestAddNoiseToTrackPath:
    """KJNodes AddNoiseToTrackPath without temporal smoothing: ``clone()`` plus seeded
    ``randn_like * strength`` scaled per axis; a new two-key dict."""

    CATEGORY = CATEGORY
    RETURN_TYPES = (TRACKS,)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "tracks": (TRACKS,),
                "strength": _float(1.0, 0.0, 100.0),
                "seed": _int(0),
                "noise_x_ratio": _float(1.0, 0.0, 100.0),
                "noise_y_ratio": _float(1.0, 0.0, 100.0),
            }
        }

    def run(self, tracks, strength, seed, noise_x_ratio, noise_y_ratio):
        path = tracks["track_path"].clone()
        torch.manual_seed(seed)
        noise = torch.randn_like(path) * strength
        noise[..., 0] *= noise_x_ratio
        noise[..., 1] *= noise_y_ratio
        return (_core_tracks(path + noise, tracks["track_visibility"]),)


class PeerTestCreateShapeMaskOnPath:
    """KJNodes CreateShapeMaskOnPath, squares: one coordinate list (single quotes tolerated), one mask
    per point, a ``shape_width`` x ``shape_height`` square centred on it in a frame of the given size."""

    CATEGORY = CATEGORY
    RETURN_TYPES = ("MASK",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "coordinates": _string(force=True),
                "frame_width": _int(512, 16),
                "frame_height": _int(512, 16),
                "shape_width": _int(4, 2),
                "shape_height": _int(4, 2),
            }
        }

    def run(self, coordinates, frame_width, frame_height, shape_width, shape_height):
        points = json.loads(coordinates.replace("'", '"'))
        masks = torch.zeros(len(points), frame_height, frame_width)
        for i, p in enumerate(points):
            x, y = p["x"], p["y"]
            x0, x1 = int(x - shape_width // 2), int(x + shape_width // 2)
            y0, y1 = int(y - shape_height // 2), int(y + shape_height // 2)
            masks[i, max(0, y0) : max(0, y1 + 1), max(0, x0) : max(0, x1 + 1)] = 1.0
        return (masks,)


def _lit_centres(frames: torch.Tensor, threshold: float) -> list:
    """Per frame the centroid (x, y) of the pixels above ``threshold`` (None if none)."""
    out = []
    for frame in frames:
        lit = frame if frame.ndim == 2 else frame.max(dim=-1).values
        ys, xs = torch.nonzero(lit > threshold, as_tuple=True)
        out.append(None if len(xs) == 0 else [float(xs.float().mean()), float(ys.float().mean())])
    return out


def _describe(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return {
            "type": "torch",
            "dtype": str(value.dtype),
            "shape": list(value.shape),
            "values": value.tolist(),
        }
    if isinstance(value, np.ndarray):
        return {
            "type": "numpy",
            "dtype": str(value.dtype),
            "shape": list(value.shape),
            "values": value.tolist(),
        }
    if isinstance(value, dict):
        return {str(k): _describe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_describe(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(type(value))


class PeerTestInspect:
    """Output node: reports its inputs as JSON text (``ui.text[0]``). TRACKS and KINEMATICS values are
    listed in full with their array types; IMAGE / MASK as shape plus the centroid of lit pixels per frame."""

    CATEGORY = CATEGORY
    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "optional": {
                "tracks": (TRACKS,),
                "kinematics": ("KINEMATICS",),
                "string": _string(force=True),
                "count": ("INT", {"forceInput": True}),
                "image": ("IMAGE",),
                "mask": ("MASK",),
                "conditioning": ("KINESONIC_CONDITIONING",),
            }
        }

    def run(
        self, tracks=None, kinematics=None, string=None, count=None, image=None, mask=None, conditioning=None
    ):
        report: dict[str, Any] = {}
        if tracks is not None:
            report["tracks"] = _describe(tracks)
        if kinematics is not None:
            report["kinematics"] = {k: _describe(kinematics[k]) for k in ("state", "fps", "events")}
        if string is not None:
            report["string"] = string
        if count is not None:
            report["count"] = count
        if image is not None:
            report["image"] = {"shape": list(image.shape), "centres": _lit_centres(image, 0.5)}
        if mask is not None:
            report["mask"] = {"shape": list(mask.shape), "centres": _lit_centres(mask, 0.5)}
        if conditioning is not None:
            report["conditioning"] = (
                sorted(conditioning) if isinstance(conditioning, dict) else repr(type(conditioning))
            )
        return {"ui": {"text": [json.dumps(report)]}}


NODE_CLASS_MAPPINGS = {
    cls.__name__: cls
    for cls in (
        PeerTestText,
        PeerTestGenerateTracks,
        PeerTestWanMoveTracksFromCoords,
        PeerTestWanMoveConcatTrack,
        PeerTestWanMoveVisualizeTracks,
        PeerTestWanMoveTrackPositions,
        PeerTestWanTrackParse,
        PeerTestAppendStringsToList,
        PeerTestJoinStringMulti,
        PeerTestPointsEditor,
        PeerTestGetTrackRange,
        PeerTestAddNoiseToTrackPath,
        PeerTestCreateShapeMaskOnPath,
        PeerTestInspect,
    )
}
