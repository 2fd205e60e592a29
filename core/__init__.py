"""The Django-free domain core: facts and rules that hold whatever stores or shows them.

Nothing here imports Django, Wagtail or another project package (`make lint` enforces it with
import-linter, see `.importlinter`), so every rule can be tested and benchmarked as plain Python.
"""
