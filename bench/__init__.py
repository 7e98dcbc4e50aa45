"""Benchmarks: ``python bench/audio.py`` (audio conversion), ``python bench/calls.py`` (calls)."""
