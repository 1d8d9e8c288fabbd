"""Reading ``/metrics`` in tests: the scrape, parsed by prometheus-client's own parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-token-for-the-tests"


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """``{(sample name, labels): value}`` of a scrape's text."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client, token: str = TOKEN) -> dict[tuple[str, frozenset], float]:
    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 200, answer.content
    return samples(answer.content.decode())


def value(scraped: dict, name: str, **labels) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


def moved(before: dict, after: dict) -> dict[tuple[str, frozenset], float]:
    """Every sample whose value changed between two scrapes, by how much."""
    return {
        key: after.get(key, 0.0) - before.get(key, 0.0)
        for key in set(before) | set(after)
        if after.get(key, 0.0) != before.get(key, 0.0)
    }
