"""Event data schemas: versions and upcasters, sensitive-field marks, the compatibility gate."""
