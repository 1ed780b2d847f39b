"""Core constants and small helpers shared across mec (no TensorFlow here)."""
