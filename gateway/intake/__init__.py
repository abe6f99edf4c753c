"""Intake: admit an event, route it once (validate, render, tokenize), commit it, hand it on."""
