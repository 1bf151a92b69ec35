"""mmfeat.text (in progress)."""
