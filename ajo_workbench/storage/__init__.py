"""Storage: the workspace database, its tables and generated sample data."""
