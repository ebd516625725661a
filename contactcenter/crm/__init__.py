"""The customer record and the service (cases with SLA) and sales (leads, opportunities, tasks)
workflows that interactions link to."""
