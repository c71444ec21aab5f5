"""vox subpackage."""
