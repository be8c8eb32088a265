"""Kinesonic kinematics (no ComfyUI imports)."""
