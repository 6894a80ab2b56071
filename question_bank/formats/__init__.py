"""Import and export formats: bytes to QuestionData and back, no database."""
