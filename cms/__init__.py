"""Public Wagtail pages: policy documents, notices, training material, FAQ."""
