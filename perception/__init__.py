"""Kinesonic perception (no ComfyUI imports)."""
