"""The workbench (工作台): the admin dashboard of every role, showing the work waiting in the
user's jurisdiction — findings to verify, scans to file, incomplete case files, certificates
about to expire, comparisons overdue, spot checks and the annual review — each a link to the
filtered list. It sits above every other app (.importlinter) because it reads all of them.
"""
