"""mmfeat.data (in progress)."""
