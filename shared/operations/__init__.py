"""Operations: what a person running the app looks at and acts on (docs/operations.md).

- `stats`: delivery statistics per target and operation (outcome counts and a latency histogram), counted in
  memory by every upstream call and merged into hourly rollups in Table Storage about once a minute;
- `dead_letters`: the app's record of every dead letter (written by `shared.delivery.messages.send_dead_letter`),
  listed and paged, and replayed back to the work queue;
- `overview`: queue and poison depths, the Insider pause, the inQuba token cache's state;
- `access`: who may use the operations page and its routes (function key, or Entra ID sign-in);
- `routes` and `page.html`: the HTTP side of all of the above.
"""
