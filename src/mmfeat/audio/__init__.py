"""mmfeat.audio (in progress)."""
