"""Import promises of the main job's path: what is (not) imported, checked in fresh processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from kinesonic.runner.cli import COMMANDS, SUBCOMMAND_MODULES, build_parser, command_of


def _modules_after(code: str) -> set[str]:
    """Names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(run.stdout.strip().splitlines()[-1]))


def _subcommands(parser) -> set[str]:  # noqa: ANN001
    return {name for action in parser._subparsers._group_actions for name in action.choices}


def test_command_table_matches_what_the_modules_register():
    assert _subcommands(build_parser()) == set(COMMANDS)
    assert set(COMMANDS.values()) == set(SUBCOMMAND_MODULES)
    # a known command builds a parser with its own module's commands only
    assert _subcommands(build_parser("run")) == {"run", "validate", "nodes"}
    assert _subcommands(build_parser("train")) == {"train", "train-vocoder"}
    assert _subcommands(build_parser("no-such-command")) == set(COMMANDS)


def test_command_of_skips_the_top_level_options():
    assert command_of(["run", "wf.json", "--output", "out"]) == "run"
    assert command_of(["--device", "cpu", "--precision", "fp32", "eval", "x"]) == "eval"
    assert command_of(["--device=cpu", "nodes"]) == "nodes"
    assert command_of(["--help"]) is None
    assert command_of([]) is None


def test_run_parser_imports_no_other_area():
    loaded = _modules_after(
        "from kinesonic.runner.cli import build_parser, command_of\n"
        "argv = ['run', 'wf.json', '--output', 'out']\n"
        "build_parser(command_of(argv)).parse_args(argv)"
    )
    others = ("kinesonic.metrics", "kinesonic.perception", "kinesonic.training", "kinesonic.evaluation")
    assert sorted(m for m in loaded if m.startswith(others)) == []
    heavy = ("torch", "scipy", "librosa", "numba", "findiff", "sympy", "cv2")
    assert sorted(m for m in loaded if m.split(".")[0] in heavy) == []


def test_every_module_is_imported_for_the_full_help():
    loaded = _modules_after("from kinesonic.runner.cli import build_parser\nbuild_parser()")
    assert {f"kinesonic.{name}" for name in SUBCOMMAND_MODULES} <= loaded


# ---------------------------------------------------------------------- the array cache


def test_mel_filterbank_from_the_cache_is_librosas_and_skips_the_import(tmp_path, monkeypatch):
    import librosa
    import numpy as np

    from kinesonic.media.files import record_writes
    from kinesonic.models.autoencoders import mel_filterbank

    monkeypatch.setenv("KINESONIC_CACHE", str(tmp_path))
    with record_writes() as written:
        fb, pinv = mel_filterbank(16000, 512, 40, 0.0, 8000.0)
    assert written == []  # the cache file is not an output of the run
    (cached,) = tmp_path.glob("librosa_*.npy")
    assert f"_{librosa.__version__}_" in cached.name
    expected = librosa.filters.mel(sr=16000, n_fft=512, n_mels=40, fmin=0.0, fmax=8000.0)
    assert np.array_equal(fb.numpy(), expected) and fb.shape == (40, 257) and pinv.shape == (257, 40)
    code = (
        "import numpy as np, sys\n"
        "from kinesonic.models.autoencoders import mel_filterbank\n"
        "fb, _ = mel_filterbank(16000, 512, 40, 0.0, 8000.0)\n"
        f"assert np.array_equal(fb.numpy(), np.load({str(cached)!r}))\n"
        "assert 'librosa' not in sys.modules and 'numba' not in sys.modules"
    )
    env = {**os.environ, "KINESONIC_CACHE": str(tmp_path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_a_bad_or_disabled_cache_computes_with_librosa(tmp_path, monkeypatch):
    import numpy as np

    from kinesonic.models.autoencoders import mel_filterbank

    monkeypatch.setenv("KINESONIC_CACHE", str(tmp_path))
    reference, _ = mel_filterbank(16000, 256, 20, 0.0, None)
    (cached,) = tmp_path.glob("*.npy")
    cached.write_bytes(b"not an array")
    again, _ = mel_filterbank(16000, 256, 20, 0.0, None)
    assert np.array_equal(again.numpy(), reference.numpy())
    np.save(cached, np.zeros((3, 3), np.float32))  # readable, but not a [20, 129] filterbank
    again, _ = mel_filterbank(16000, 256, 20, 0.0, None)
    assert np.array_equal(again.numpy(), reference.numpy())
    monkeypatch.setenv("KINESONIC_CACHE", "off")
    off, _ = mel_filterbank(16000, 128, 10, 0.0, None)
    assert off.shape == (10, 65) and len(list(tmp_path.glob("*.npy"))) == 1
