"""Kinesonic training (no ComfyUI imports)."""
