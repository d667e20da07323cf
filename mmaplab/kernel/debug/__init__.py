"""The kernel's debug options, modelled: trace points, fault injection and a sanitizer.

The model calls their event points; they never patch the model.
"""
