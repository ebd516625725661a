"""Contact-center statistics: the supervisor's live board, interval reports and the Prometheus
exporter. Every figure is defined once, in `figures`, and its meaning is in docs/metrics.md."""
