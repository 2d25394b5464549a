"""Helpers for offline tests and demos: tiny models built locally with the real tokenizer classes."""
