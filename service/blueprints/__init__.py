"""One blueprint per HTTP surface."""
