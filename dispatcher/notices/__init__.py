"""The Danish notices: what a notice says (templates, rendering) and how it is mailed."""
