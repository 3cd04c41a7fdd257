"""The store's knowledge base: markdown articles, their index, and hybrid search over them.

This package imports nothing from the rest of the project.
"""
