"""The lab engine (layer 2): run scenarios on the model, observe, diff and report."""
