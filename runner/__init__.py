"""Headless execution of ComfyUI workflow files (API or UI format) for scripts, training and CI."""
