"""Kinesonic media (no ComfyUI imports)."""
