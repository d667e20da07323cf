"""The model of the kernel's memory-mapping path (layer 1: imports nothing above it).

One module per kernel concept, named after it; see ARCHITECTURE.md for the map.
"""
