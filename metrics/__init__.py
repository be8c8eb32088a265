"""Kinesonic metrics (no ComfyUI imports)."""
