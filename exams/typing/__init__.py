"""The Chinese typing-speed test: its scoring rules (pure; pages and storage come later)."""
