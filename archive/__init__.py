"""Standardized case files (补贴档案): people, certificates, enrolments, scanned documents."""
