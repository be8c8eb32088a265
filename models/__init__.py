"""Kinesonic models (no ComfyUI imports)."""
