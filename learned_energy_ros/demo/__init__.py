"""The built-in demo scene and its runner."""
