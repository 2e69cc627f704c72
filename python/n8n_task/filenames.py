"""The filenames user code is parsed and compiled under.

The wrapper compiles the user's code under one of these, the traceback filter keeps the frames
that carry it, the syntax-error text quotes the parse filename, and the import guard tells the
user's frames from library code by it; this module is the one place they are spelled.
"""

PARSE_FILENAME = "<unknown>"
ALL_ITEMS_FILENAME = "<all_items_task_execution>"
PER_ITEM_FILENAME = "<per_item_task_execution>"
USER_FILENAMES = frozenset((ALL_ITEMS_FILENAME, PER_ITEM_FILENAME))
