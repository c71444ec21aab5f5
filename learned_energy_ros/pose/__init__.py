"""pose subpackage."""
