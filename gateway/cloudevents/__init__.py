"""CloudEvents 1.0: parsing the structured, binary and batch modes; the attribute types."""
