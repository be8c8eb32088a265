"""Kinesonic data (no ComfyUI imports)."""
