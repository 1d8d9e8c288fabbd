"""/metrics: the scrape view, its request middleware and the collectors read at scrape time.

The instruments that request paths move are in portal/metrics.py (the kernel), so that
any app may count.
"""
