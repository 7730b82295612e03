"""One module per kind of claim: its contract model."""
