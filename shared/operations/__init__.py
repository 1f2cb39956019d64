"""Operations: what a person running the app looks at and acts on (docs/operations.md).

- `stats`: delivery statistics per target and operation (outcome counts and a latency histogram), counted in
  memory by every upstream call and merged into hourly rollups in Table Storage about once a minute.
"""
