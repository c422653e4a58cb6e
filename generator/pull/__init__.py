"""Pull stage: result files from where the numbers live (SQL databases, MLflow), `charters pull`.

- `config`: the charters' `pull` entries and site.yaml's connections, read without
  the result files (a pull must work when the file it writes is missing or broken);
- `sql` and `mlflow_runs`: one pull's rows, from a query or from MLflow runs;
- `rows`: those rows as the bytes of a result file, validated by `results.load_results`
  exactly as a typed file is;
- `report`: rows added, changed and removed, and what that does to each verdict;
- `run`: the pulls in parallel, each file replaced only when all its rows are valid.
"""
