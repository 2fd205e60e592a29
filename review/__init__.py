"""Data comparison (数据比对) against other departments' rosters, and verification."""
