"""`charters pull`: result files from where the numbers live (SQL databases, MLflow)."""
