"""Data and builders for the demo export (宝山区). Run ``examples/generate_demo.py``."""
