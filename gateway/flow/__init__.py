"""Flow control: hold, gather, drop and release events of triggers that declare controls."""
