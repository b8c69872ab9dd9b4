"""The floor every package stands on; imports nothing of the project.

errors (one-line user errors), jsonl (JSON Lines I/O, `jsonable`), atomic (write-fsync-rename), provenance (what
every report says about how it was made), schema (typed sections from YAML), sections (the recipe schema as pure
data), recipe (loading, overrides), layout (every stage's input and output paths in a run dir).
"""
