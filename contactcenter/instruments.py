"""The process's Prometheus instruments, counted where things happen and served at /metrics
(contactcenter/web/metrics.py adds the figures read from the database at each scrape).

They are process-wide, as Prometheus expects of one process: with `serve --workers N` each
worker is its own scrape target.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

OFFERS = Counter(
    "cc_routing_offers", "Offers made by the routing leader, and how they ended",
    ["outcome"], registry=REGISTRY)
ROUTING_LATENCY = Histogram(
    "cc_routing_latency_seconds",
    "From a routing event entering the workspace's stream to its decisions being committed",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY)
SOCKETS_OPEN = Gauge(
    "cc_sockets_open", "Open websockets on this process", ["kind"], registry=REGISTRY)
CHANNEL_ERRORS = Counter(
    "cc_channel_errors", "Failures talking to a channel's provider, and payloads it sent that "
    "could not be read", ["channel", "kind"], registry=REGISTRY)
WEBHOOK_LATENCY = Histogram(
    "cc_webhook_latency_seconds", "Time to answer a provider's webhook (Twilio waits 15 s)",
    ["route"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15),
    registry=REGISTRY)
OUTGOING_WEBHOOK_LATENCY = Histogram(
    "cc_outgoing_webhook_latency_seconds", "Time an outgoing webhook's receiver took to answer",
    ["outcome"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY)
