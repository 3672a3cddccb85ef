"""Tests of the counting methods for group decisions."""
